package postgres_test

import (
	"context"
	"testing"

	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/postgres/pgtest"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() storetest.Store {
		url := pgtest.Database(t)
		return func() storetest.Store {
			db, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
	}, resetflow.ErrLimitReached)
}

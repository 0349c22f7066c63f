package resetflow_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/storetest"
)

// TestMemoryStoreBeginResetAtomicLimit: concurrent BeginResets for one user
// record exactly the limit; the rest get ErrLimitReached.
func TestMemoryStoreBeginResetAtomicLimit(t *testing.T) {
	s := resetflow.NewMemoryStore()
	u := resetflow.User{ID: "u1"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.BeginReset(context.Background(), resetflow.InFlight{Flow: fmt.Sprint(i), User: u, Started: t0}, t0.Add(-24*time.Hour), 3)
			if err != nil && !errors.Is(err, resetflow.ErrLimitReached) {
				t.Error(err)
			}
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 3 {
		t.Fatalf("%d begun, want 3", ok)
	}
	list, _ := s.InFlight(context.Background())
	if len(list) != 3 {
		t.Fatalf("%d in flight", len(list))
	}
	if err := s.MarkDelivered(context.Background(), list[0].Flow); err != nil {
		t.Fatal(err)
	}
	list, _ = s.InFlight(context.Background())
	n := 0
	for _, r := range list {
		if r.Delivered {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d delivered, want 1", n)
	}
}

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) (resetflow.Store, resetflow.Store) {
		s := resetflow.NewMemoryStore()
		return s, s
	})
}

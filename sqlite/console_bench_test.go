package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// BenchmarkRecordRollups is the cost the console's triggers add to recording
// the audit trail: one reset's eight events in one transaction, on tmpfs when
// there is one (so the disk's fsync does not hide it).
func BenchmarkRecordRollups(b *testing.B) {
	dir := b.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir, _ = os.MkdirTemp("/dev/shm", "pcb-bench")
		defer os.RemoveAll(dir)
	}
	for _, withConsole := range []bool{false, true} {
		b.Run(fmt.Sprintf("console=%v", withConsole), func(b *testing.B) {
			db, err := Open(context.Background(), filepath.Join(dir, fmt.Sprintf("b%v.db", withConsole)))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if withConsole {
				if _, err := db.Console(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				i++
				evs := flowEvents(fmt.Sprint("f", i), t0.Add(time.Duration(i)*time.Second), 5*time.Second)
				evs = append(evs, evs...) // eight events, like a completed reset
				if err := db.RecordBatch(context.Background(), []resetflow.Event(evs)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

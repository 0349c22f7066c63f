package resetflow

import (
	"testing"
	"unsafe"
)

// TestConversationStaysSmall: every person waiting at their device list holds
// one conversation (issue 8: 10,000 of them in at most 2 KiB of heap each), so
// the chosen device is a pointer, set at the pick, not a Device inside it.
func TestConversationStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(conversation{}); n > 288 {
		t.Errorf("a conversation is %d bytes; at most 288 (it was 448 with the chosen Device inside)", n)
	}
}

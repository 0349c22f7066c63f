package discord

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

type inputs struct {
	mu  sync.Mutex
	all []resetflow.Input
}

func (r *inputs) Handle(_ context.Context, in resetflow.Input) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, in)
}

// FuzzDiscordPayload decodes arbitrary gateway payloads the way discordgo does
// (MESSAGE_CREATE, INTERACTION_CREATE) and hands them to the adapter. Whatever
// arrives: no panic, and whatever reaches the engine comes from a person (not a
// bot) in a DM, with no company email claimed.
func FuzzDiscordPayload(f *testing.F) {
	f.Add(false, []byte(`{"id":"1","channel_id":"9","author":{"id":"42","username":"a"},"content":"reset","type":0}`))
	f.Add(false, []byte(`{"id":"1","channel_id":"9","guild_id":"7","author":{"id":"42"},"content":"reset"}`))
	f.Add(true, []byte(`{"id":"1180000000000000001","type":3,"user":{"id":"42"},"channel_id":"9","data":{"custom_id":"pcb:confirm:f","component_type":2},"message":{"id":"5"},"token":"t","locale":"ja"}`))
	f.Add(true, []byte(`{"id":"1","type":2,"member":{"user":{"id":"42","bot":true}},"guild_id":"7","data":{"name":"reset-passcode"}}`))
	f.Add(true, []byte(`{"type":3,"data":{"component_type":3,"values":["pick:f:0","pick:f:1"]}}`))
	fs := discordtest.New(f, discordtest.Options{})
	clk := clock.NewFake(time.Now())
	a, err := New(Config{Token: fs.Token(), APIURL: fs.APIURL(), Catalog: catalog.MustNew("en"), Clock: clk})
	if err != nil {
		f.Fatal(err)
	}
	rec := &inputs{}
	a.h, a.runCtx = rec, context.Background()
	f.Fuzz(func(t *testing.T, interaction bool, payload []byte) {
		if interaction {
			var ic discordgo.InteractionCreate
			if json.Unmarshal(payload, &ic) != nil {
				return
			}
			a.onInteraction(&ic)
		} else {
			var m discordgo.MessageCreate
			if json.Unmarshal(payload, &m) != nil {
				return
			}
			a.onMessage(&m)
		}
		a.queues.Wait(10 * time.Second)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, in := range rec.all {
			if in.Email != "" || in.From.Platform != Platform || in.From.UserID == "" {
				t.Fatalf("input %+v from %q", in, payload)
			}
		}
	})
}

package slack

import "strings"

// dm is what the adapter knows of a person's IM with the bot: its id, as
// Slack told it (their own DM's event, or conversations.open checked), and
// the newest message in it the adapter has seen (one it posted, or the
// person's). The id is where a passcode may go and where their clicks come
// from; the newest message is where a click may be answered in place
// (answer.go).
type dm struct {
	channel string
	last    string // a message ts; "" when not known
}

// sawIM records channel as user's IM, and ts (if any) as a message in it.
func (a *Adapter) sawIM(user, channel, ts string) {
	a.ims.Update(user, func(d dm, ok bool) (dm, bool) {
		if !ok || d.channel != channel {
			return dm{channel: channel, last: ts}, true
		}
		if tsAfter(ts, d.last) {
			d.last = ts
		}
		return d, true
	})
}

// postedIn records ts as a message the bot posted in channel, when that is
// user's IM as known.
func (a *Adapter) postedIn(user, channel, ts string) {
	a.ims.Update(user, func(d dm, ok bool) (dm, bool) {
		if !ok || d.channel != channel || !tsAfter(ts, d.last) {
			return d, false
		}
		d.last = ts
		return d, true
	})
}

// newestIn reports whether ts is the newest message the adapter saw in
// user's IM channel.
func (a *Adapter) newestIn(user, channel, ts string) bool {
	d, ok := a.ims.Get(user)
	return ok && d.channel == channel && ts != "" && d.last == ts
}

// tsAfter reports whether Slack message timestamp a is later than b ("" is
// before every timestamp). A ts is seconds, a dot and microseconds.
func tsAfter(a, b string) bool {
	if a == "" || b == "" {
		return a != ""
	}
	as, af, _ := strings.Cut(a, ".")
	bs, bf, _ := strings.Cut(b, ".")
	if len(as) != len(bs) {
		return len(as) > len(bs)
	}
	if as != bs {
		return as > bs
	}
	return af > bf
}

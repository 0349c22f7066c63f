package resetflow

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Address is where a conversation's messages go: one person on one chat platform.
type Address struct {
	Platform string // "shell", "slack", "discord"
	UserID   string // the person's id on that platform
	Channel  string // their direct-message channel, when the platform gave one
}

func (a Address) key() string { return a.Platform + "\x00" + a.UserID }

// Input is something a person did in chat: typed text, or pressed a button or picked a choice.
type Input struct {
	From   Address
	Email  string // the person's company identity as the platform knows it (email or UPN); may be empty
	Locale string // "ja" or "en"; empty means unknown
	Text   string // typed text, when the person wrote something
	Action string // the Value of the button or choice, when the person clicked
	// AccountName is how the platform names the account ("Alice (@alice)"); the
	// account-linking pages show it, so a person sees which account they link.
	AccountName string
	// Unverified says the platform's accounts carry no identity the company
	// directory vouches for (Discord: anyone can make an account). Such an
	// account reaches a directory user only through a link made by pairing: a
	// sign-in in a browser plus a one-time code typed back into this chat.
	// An Input without Email is treated the same way.
	Unverified bool
}

// Message is a platform-neutral bot message. Adapters render it.
type Message struct {
	Text    string   // localized body; may hold several lines
	Choices []Choice // pick one of these (devices)
	Buttons []Button
	Link    *Link
	Secret  *Secret // only ever sent to the requester's direct-message channel
	Notice  string  // small print under the body (help hints)

	// Replace names a message that is updated in place (progress): the first
	// message with a given key is posted; later ones with the same key, to the
	// same person, edit it where the platform can edit messages (Slack
	// chat.update, a Discord edit). Final marks the last update: the adapter then
	// forgets the key. A message with a Secret never has a Replace key.
	Replace string
	Final   bool

	// Locale, when set, is the language the engine wrote the message in; the
	// adapter renders its own words around it (and the notice that replaces a
	// passcode) in the same language. Empty: the adapter's own choice.
	Locale string
}

// Interactive reports whether the message expects a click.
func (m Message) Interactive() bool {
	return len(m.Choices) > 0 || len(m.Buttons) > 0
}

// Choice is one option of a pick-one list.
type Choice struct {
	Value  string // opaque; comes back as Input.Action
	Label  string
	Detail string
	// URL, when set, picks this choice in a browser and goes straight on to the
	// sign-in (a device-list link). Opening it with GET changes nothing.
	URL string
}

// ButtonStyle hints at how prominent a button is.
type ButtonStyle string

const (
	StyleDefault ButtonStyle = ""
	StylePrimary ButtonStyle = "primary"
	StyleDanger  ButtonStyle = "danger"
)

// Button is an action the person can take.
type Button struct {
	Value   string // opaque; comes back as Input.Action
	Label   string
	Style   ButtonStyle
	Confirm *Confirm // a platform confirm dialog before the click counts, where the platform has one
}

// Confirm is the text of a confirm dialog.
type Confirm struct {
	Title, Text, OK, Cancel string
}

// Link is a URL the person opens in a browser; it stops working at Expires.
type Link struct {
	URL     string
	Label   string
	Expires time.Time
}

// Secret is a value only the requester may see. It never formats itself: fmt
// (every verb, %#v included), slog, encoding/json and encoding/text print a
// placeholder, whether the Secret is a pointer, a value, or a field, element or
// map value of something printed. The methods have value receivers, so a copy
// redacts too; and the value sits behind an unexported pointer, so even where
// fmt walks a struct by reflection (an unexported field holding a Secret) it
// only finds an address (fmt dereferences a pointer only to a struct, array,
// slice or map, and only at the top).
type Secret struct {
	Label string
	v     *string // a pointer to a string: fmt prints it as an address at any depth
}

// NewSecret wraps v.
func NewSecret(label, v string) *Secret { return &Secret{Label: label, v: &v} }

// Reveal returns the secret value. Call it only to render the requester's DM.
func (s *Secret) Reveal() string {
	if s == nil || s.v == nil {
		return ""
	}
	return *s.v
}

const secretPlaceholder = "[secret]"

func (Secret) String() string                 { return secretPlaceholder }
func (Secret) GoString() string               { return secretPlaceholder }
func (Secret) Format(f fmt.State, _ rune)     { io.WriteString(f, secretPlaceholder) }
func (Secret) LogValue() slog.Value           { return slog.StringValue(secretPlaceholder) }
func (Secret) MarshalText() ([]byte, error)   { return []byte(secretPlaceholder), nil }
func (Secret) MarshalJSON() ([]byte, error)   { return []byte(`"` + secretPlaceholder + `"`), nil }
func (Secret) MarshalBinary() ([]byte, error) { return []byte(secretPlaceholder), nil }
func (Secret) AppendText(b []byte) ([]byte, error) {
	return append(b, secretPlaceholder...), nil
}

package teams

import "encoding/json"

// The Bot Framework activity schema, as far as the bot uses it.

// Activity is a Bot Framework activity: a message, an invoke, an update.
type Activity struct {
	Type         string               `json:"type"`
	ID           string               `json:"id,omitempty"`
	Timestamp    string               `json:"timestamp,omitempty"`
	ServiceURL   string               `json:"serviceUrl,omitempty"`
	ChannelID    string               `json:"channelId,omitempty"`
	From         *ChannelAccount      `json:"from,omitempty"`
	Conversation *ConversationAccount `json:"conversation,omitempty"`
	Recipient    *ChannelAccount      `json:"recipient,omitempty"`
	Text         string               `json:"text,omitempty"`
	TextFormat   string               `json:"textFormat,omitempty"`
	Locale       string               `json:"locale,omitempty"`
	Name         string               `json:"name,omitempty"` // invoke name, e.g. adaptiveCard/action
	Value        json.RawMessage      `json:"value,omitempty"`
	ReplyToID    string               `json:"replyToId,omitempty"`
	Attachments  []Attachment         `json:"attachments,omitempty"`
	ChannelData  *ChannelData         `json:"channelData,omitempty"`
	Summary      string               `json:"summary,omitempty"`
}

// ChannelAccount is a person or bot in a conversation.
type ChannelAccount struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	AADObjectID string `json:"aadObjectId,omitempty"`
	Role        string `json:"role,omitempty"`
}

// ConversationAccount is a conversation: personal, groupChat or channel.
type ConversationAccount struct {
	ID               string `json:"id"`
	ConversationType string `json:"conversationType,omitempty"`
	TenantID         string `json:"tenantId,omitempty"`
	IsGroup          bool   `json:"isGroup,omitempty"`
}

// ChannelData is Teams' part of an activity.
type ChannelData struct {
	Tenant  *IDOnly `json:"tenant,omitempty"`
	Team    *IDOnly `json:"team,omitempty"`
	Channel *IDOnly `json:"channel,omitempty"`
}

// IDOnly is an object with an id.
type IDOnly struct {
	ID string `json:"id"`
}

// Attachment carries a card.
type Attachment struct {
	ContentType string `json:"contentType"`
	Content     any    `json:"content"`
}

// ContentTypeAdaptiveCard is an Adaptive Card attachment.
const ContentTypeAdaptiveCard = "application/vnd.microsoft.card.adaptive"

// TeamsChannelAccount is a member of a conversation as the Connector's
// members API gives it: Teams fills it from Entra ID.
type TeamsChannelAccount struct {
	ID                string `json:"id"`
	Name              string `json:"name,omitempty"`
	AADObjectID       string `json:"aadObjectId,omitempty"`
	ObjectID          string `json:"objectId,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Email             string `json:"email,omitempty"`
	TenantID          string `json:"tenantId,omitempty"`
	UserRole          string `json:"userRole,omitempty"` // "user", "guest", "anonymous"
}

func (m TeamsChannelAccount) objectID() string {
	if m.AADObjectID != "" {
		return m.AADObjectID
	}
	return m.ObjectID
}

// ResourceResponse is the Connector's answer to a send.
type ResourceResponse struct {
	ID string `json:"id"`
}

// InvokeResponse is the HTTP body answering an adaptiveCard/action invoke.
type InvokeResponse struct {
	StatusCode int    `json:"statusCode"`
	Type       string `json:"type"`
	Value      any    `json:"value"`
}

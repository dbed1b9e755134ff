package service

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// The interaction as a Genesys SCXML strategy reads it: _genesys.ixn.interactions[id]
// (Orchestration Server Developer docs, "Object Model" and "Access Interaction Properties").
// The media side gives the properties the interaction's own columns do not hold
// (NewInteraction.Genesys); the rest is derived from those columns, so it cannot disagree with
// them. docs/reference-choices.md lists the derivations and their sources.

// InteractionProperties are the properties the media side gives, stored as given.
type InteractionProperties struct {
	// GUID is the interaction's global id (g_uid); the interaction id when not given.
	GUID          *string             `json:"g_uid,omitempty"`
	ContactedAddr *string             `json:"contactedaddr,omitempty"`
	Location      *string             `json:"location,omitempty"`
	XData         json.RawMessage     `json:"xdata,omitempty" shape:"object"`
	Voice         *VoiceProperties    `json:"voice,omitempty"`
	MsgBased      *MsgBasedProperties `json:"msgbased,omitempty"`
}

// VoiceProperties are the given fields of a voice interaction's sub-object.
type VoiceProperties struct {
	CallID *string `json:"callid,omitempty"`
	ANI    *string `json:"ani,omitempty"`
	DNIS   *string `json:"dnis,omitempty"`
}

// MsgBasedProperties are the given fields of a multimedia interaction's sub-object. Type
// (InboundNew, ...) and Media (TMediaEMail, ...) are derived when not given.
type MsgBasedProperties struct {
	Queue      *string `json:"queue,omitempty"`
	Type       *string `json:"type,omitempty"`
	Media      *string `json:"media,omitempty"`
	ExternalID *string `json:"externalID,omitempty"`
	View       *string `json:"view,omitempty"`
}

// GenesysView is _genesys.ixn.interactions[id] without parties and udata, which the
// Interaction carries beside it.
type GenesysView struct {
	GUID          string          `json:"g_uid"`
	Category      string          `json:"category"`
	TenantID      *string         `json:"tenantid,omitempty"`
	ParentID      *string         `json:"parentid,omitempty"`
	ContactedAddr *string         `json:"contactedaddr,omitempty"`
	Location      *string         `json:"location,omitempty"`
	XData         json.RawMessage `json:"xdata,omitempty"`
	Voice         *VoiceView      `json:"voice,omitempty"`
	MsgBased      *MsgBasedView   `json:"msgbased,omitempty"`
}

// VoiceView is the voice sub-object: type is the interaction's type, media TMediaVoice.
type VoiceView struct {
	CallID *string `json:"callid,omitempty"`
	ANI    *string `json:"ani,omitempty"`
	DNIS   *string `json:"dnis,omitempty"`
	Type   string  `json:"type"`
	Media  string  `json:"media"`
}

// MsgBasedView is the multimedia sub-object.
type MsgBasedView struct {
	Queue      *string `json:"queue,omitempty"`
	Type       string  `json:"type"`
	Media      string  `json:"media"`
	ExternalID *string `json:"externalID,omitempty"`
	View       *string `json:"view,omitempty"`
}

// maxXData bounds the free-form xdata: it travels with every read of the interaction.
const maxXData = 8 << 10

// genesysMedia names a medium as T-Library's media types do; others are TMedia + the name.
var genesysMedia = map[string]string{
	"voice": "TMediaVoice", "email": "TMediaEMail", "chat": "TMediaChat", "sms": "TMediaSMS",
	"webcallback": "TMediaWebCallback", "workitem": "TMediaWorkItem",
}

// msgBasedTypes are the multimedia interaction (sub)types of Genesys for our types.
var msgBasedTypes = map[string]string{
	"inbound": "InboundNew", "outbound": "OutboundNew", "internal": "InternalNew",
	"consult": "InternalConferenceInvite", "callback": "InboundNew",
}

func mediaName(media string) string {
	if m, ok := genesysMedia[media]; ok {
		return m
	}
	return "TMedia" + strings.ToUpper(media[:1]) + media[1:]
}

// category is voice for voice, chat for chat and msgbased for every other medium.
func category(media string) string {
	switch media {
	case "voice", "chat":
		return media
	default:
		return "msgbased"
	}
}

// genesysView derives the strategy's view of an interaction from its columns and its stored
// properties. A voice interaction has the voice sub-object, every other one msgbased.
func genesysView(ix Interaction, props InteractionProperties) *GenesysView {
	v := &GenesysView{
		GUID: ix.InteractionID, Category: category(ix.Media), TenantID: ix.TenantID, ParentID: ix.ParentID,
		ContactedAddr: props.ContactedAddr, Location: props.Location, XData: props.XData,
	}
	if props.GUID != nil {
		v.GUID = *props.GUID
	}
	if ix.Media == "voice" {
		v.Voice = &VoiceView{Type: ix.Type, Media: mediaName(ix.Media)}
		if p := props.Voice; p != nil {
			v.Voice.CallID, v.Voice.ANI, v.Voice.DNIS = p.CallID, p.ANI, p.DNIS
		}
		return v
	}
	v.MsgBased = &MsgBasedView{Type: msgBasedTypes[ix.Type], Media: mediaName(ix.Media)}
	if p := props.MsgBased; p != nil {
		v.MsgBased.Queue, v.MsgBased.ExternalID, v.MsgBased.View = p.Queue, p.ExternalID, p.View
		if p.Type != nil {
			v.MsgBased.Type = *p.Type
		}
		if p.Media != nil {
			v.MsgBased.Media = *p.Media
		}
	}
	return v
}

// GenesysOf is the strategy's view of an interaction kept elsewhere (the reports' rows): its
// own fields and its stored properties, as the column holds them.
func GenesysOf(interactionID, media, typ string, tenantID, parentID *string, properties []byte) *GenesysView {
	var props InteractionProperties
	_ = json.Unmarshal(properties, &props) // the column holds only what validate let in
	return genesysView(Interaction{InteractionID: interactionID, Media: media, Type: typ, TenantID: tenantID, ParentID: parentID}, props)
}

// SetGenesysProperties is the media side giving an interaction's properties after it was
// added: the given ones replace those stored, voice and msgbased field by field. It writes no
// event (the reference has none for it) and answers the interaction as it now is.
func (s *Store) SetGenesysProperties(ctx context.Context, t Target, interactionID string, in InteractionProperties) (Interaction, error) {
	var c checker
	c.properties(&in, "")
	if err := c.err(); err != nil {
		return Interaction{}, err
	}
	props, err := json.Marshal(in)
	if err != nil {
		return Interaction{}, fault.Errorf(fault.ErrInvalid, "genesys: %v", err)
	}
	if _, err := s.q.InteractionSetProperties(ctx, db.InteractionSetPropertiesParams{
		SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, Properties: props,
	}); err != nil {
		return Interaction{}, database.Translate(err)
	}
	return s.GetInteraction(ctx, t.SessionID, interactionID)
}

// properties checks the properties of an interaction of media; an empty media (not known
// here) leaves the match of voice or msgbased to the medium to the database.
func (c *checker) properties(p *InteractionProperties, media string) {
	if p == nil {
		return
	}
	text := func(field string, v *string) {
		if v != nil {
			c.text("genesys."+field, *v, true)
		}
	}
	text("g_uid", p.GUID)
	text("contactedaddr", p.ContactedAddr)
	text("location", p.Location)
	if t := bytes.TrimSpace(p.XData); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		c.object("genesys.xdata", p.XData)
		if len(p.XData) > maxXData {
			c.addf("genesys.xdata must be at most %d bytes of JSON", maxXData)
		}
	}
	if p.Voice != nil {
		if media != "" && media != "voice" {
			c.addf("genesys.voice is for voice interactions; a %s interaction takes genesys.msgbased", media)
		}
		text("voice.callid", p.Voice.CallID)
		text("voice.ani", p.Voice.ANI)
		text("voice.dnis", p.Voice.DNIS)
	}
	if m := p.MsgBased; m != nil {
		if media == "voice" {
			c.addf("genesys.msgbased is for multimedia interactions; a voice interaction takes genesys.voice")
		}
		text("msgbased.queue", m.Queue)
		text("msgbased.type", m.Type)
		text("msgbased.media", m.Media)
		text("msgbased.externalID", m.ExternalID)
		text("msgbased.view", m.View)
	}
}

package natsevents

import (
	"errors"
	"strings"
)

// NoNode is the node token of an event written while its session had no owner.
const NoNode = "~"

// Subject is where an event goes: prefix.node.session.name. The node and session ids are
// tokens (Token); the event name keeps its dots, so that it is as many tokens as it has parts
// and consumers filter by it as they read it: "ixn.*.*.interaction.added",
// "ixn.*.*.error.>". A session's events are "ixn.*.<session>.>" whatever node owned them.
func Subject(prefix string, node *string, session, name string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(session) + len(name) + 32)
	b.WriteString(prefix)
	b.WriteByte('.')
	if node == nil {
		b.WriteString(NoNode)
	} else {
		appendToken(&b, *node)
	}
	b.WriteByte('.')
	appendToken(&b, session)
	b.WriteByte('.')
	appendName(&b, name)
	return b.String()
}

// Token makes an id one subject token. Letters, digits, '-', '_', ':' and '@' stay; every
// other byte (the ids' '.', and anything an id could hold one day) is written '%' and its two
// upper-case hex digits, as in a URL: "node.1" is "node%2E1". The result never holds '.',
// '*', '>', '%' alone or white space, and differs for different ids; a lone "~" (NoNode) is
// never a token of an id.
func Token(id string) string {
	var b strings.Builder
	appendToken(&b, id)
	return b.String()
}

func appendToken(b *strings.Builder, id string) {
	for i := 0; i < len(id); i++ {
		appendByte(b, id[i], false)
	}
}

// appendName writes an event name as tokens: its dots separate them, anything else not plain
// is escaped as in Token. A name with an empty part (a leading, trailing or double dot) would
// make an invalid subject; the catalog has none, and one that had would be one token, escaped
// whole.
func appendName(b *strings.Builder, name string) {
	dots := name != "" && name[0] != '.' && name[len(name)-1] != '.' && !strings.Contains(name, "..")
	for i := 0; i < len(name); i++ {
		appendByte(b, name[i], dots)
	}
}

func appendByte(b *strings.Builder, c byte, dots bool) {
	if plain(c) || dots && c == '.' {
		b.WriteByte(c)
		return
	}
	b.WriteByte('%')
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

const hexDigits = "0123456789ABCDEF"

func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == ':' || c == '@'
}

// ParseToken undoes Token.
func ParseToken(tok string) (string, error) {
	if !strings.Contains(tok, "%") {
		return tok, nil
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] != '%' {
			b.WriteByte(tok[i])
			continue
		}
		if i+2 >= len(tok) {
			return "", errors.New("natsevents: a '%' without two hex digits")
		}
		hi, lo := unhex(tok[i+1]), unhex(tok[i+2])
		if hi < 0 || lo < 0 {
			return "", errors.New("natsevents: a '%' without two hex digits")
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// SessionFilter is the subject filter of one session's events under prefix.
func SessionFilter(prefix, session string) string {
	return prefix + "." + "*." + Token(session) + ".>"
}

// NodeFilter is the subject filter of the events written while node owned their sessions.
func NodeFilter(prefix, node string) string {
	return prefix + "." + Token(node) + ".>"
}

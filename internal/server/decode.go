package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/refreshing/refreshing"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 64 << 10

// decode reads r's JSON body into dst, a pointer to a struct of string
// fields. It is the only place request bodies are read. It refuses a content
// type other than application/json (415), a body over maxBodyBytes (413,
// whatever it holds), malformed JSON, anything after the object or a body
// that is not an object (400), and a field of the wrong type (400, naming the
// field). A member sets the field whose json tag is exactly its name: JSON
// names are case-sensitive, so "Password" is an unknown field, and unknown
// fields are ignored. Every string field then passes checkWire (wire.go).
//
// When optional is set, an empty body leaves dst untouched, whatever its
// content type: Strapi 5 clients call logout with a bearer token and nothing
// else, and refresh with the token in a cookie.
func decode(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	_, err := decodeMembers(w, r, dst, optional)
	return err
}

// decodeMembers is decode that also returns every member of the body, by
// name, for a handler that passes the unknown ones on (registration's custom
// profile fields).
func decodeMembers(w http.ResponseWriter, r *http.Request, dst any, optional bool) (map[string]json.RawMessage, error) {
	if optional && (r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody) {
		return nil, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &apiError{status: http.StatusUnsupportedMediaType, name: "ApplicationError",
			message: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, decodeError(err)
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil, nil // a chunked body that turned out empty
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD and carry on:
	// JSON text is UTF-8 (RFC 8259 section 8.1), so such a body is refused.
	if !utf8.Valid(body) {
		return nil, &apiError{status: http.StatusBadRequest, name: "ValidationError", message: "Request body must be valid UTF-8"}
	}
	// encoding/json matches struct fields without regard to case; members
	// are matched here by their exact names instead.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, decodeError(err)
	}
	if members == nil { // null
		return nil, errNotObject
	}
	v := reflect.ValueOf(dst).Elem()
	for _, f := range bodyFields(v.Type()) {
		raw, ok := members[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, v.Field(f.index).Addr().Interface()); err != nil {
			return nil, refreshing.Invalid(f.name, "%s must be %s", f.name, kindName(v.Field(f.index).Type()))
		}
	}
	if err := checkStruct(dst); err != nil {
		return nil, err
	}
	return members, nil
}

// decodeStrict is decode for the admin API: a member dst has no field for
// is a 400 naming it, unless it is one of ignored, instead of being
// dropped without a word (a misspelt "requireDPoP" would otherwise change
// nothing and answer 200). The Strapi-compatible /api keeps decode's
// leniency: its clients send members of their own.
func decodeStrict(w http.ResponseWriter, r *http.Request, dst any, ignored ...string) error {
	members, err := decodeMembers(w, r, dst, false)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, f := range bodyFields(reflect.TypeOf(dst).Elem()) {
		known[f.name] = true
	}
	names := make([]string, 0, len(members))
	for m := range members {
		if !known[m] && !slices.Contains(ignored, m) {
			names = append(names, m)
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		return refreshing.Invalid(names[0], "%s is not a member of this request", names[0])
	}
	return nil
}

// bodyField is a member of a request body: a struct field and its json name.
type bodyField struct {
	index int
	name  string
}

// bodyFieldsByType caches bodyFields by struct type.
var bodyFieldsByType sync.Map // reflect.Type -> []bodyField

// bodyFields returns the fields of struct type t that have a json tag.
func bodyFields(t reflect.Type) []bodyField {
	if fs, ok := bodyFieldsByType.Load(t); ok {
		return fs.([]bodyField)
	}
	var fs []bodyField
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fs = append(fs, bodyField{index: i, name: name})
		}
	}
	bodyFieldsByType.Store(t, fs)
	return fs
}

// errNotObject reports a body that is valid JSON but not an object.
var errNotObject = &apiError{status: http.StatusBadRequest, name: "ValidationError",
	message: "Request body must be a JSON object"}

// decodeError turns a failure to read or parse a body into the client's error.
func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{status: http.StatusRequestEntityTooLarge, name: "PayloadTooLargeError",
			message: "Request body is larger than 64 KiB"}
	case errors.As(err, &typeErr):
		return errNotObject
	}
	return &apiError{status: http.StatusBadRequest, name: "ValidationError", message: "Malformed JSON body"}
}

// kindName names a Go type the way a JSON client thinks of it.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

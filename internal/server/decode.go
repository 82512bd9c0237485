package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"

	"github.com/refreshing/refreshing"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 64 << 10

// decode reads r's JSON body into dst, a pointer to a struct of string
// fields. It is the only place request bodies are read. It refuses a content
// type other than application/json (415), a body over maxBodyBytes (413),
// malformed JSON or anything after the object (400), and a field of the wrong
// type (400, naming the field). Unknown fields are ignored.
//
// When optional is set, an empty body leaves dst untouched, whatever its
// content type: Strapi 5 clients call logout with a bearer token and nothing
// else, and refresh with the token in a cookie.
func decode(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	if optional && (r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody) {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &apiError{status: http.StatusUnsupportedMediaType, name: "ApplicationError",
			message: "Content-Type must be application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(dst); err != nil {
		if optional && err == io.EOF {
			return nil // a chunked body that turned out empty
		}
		return decodeError(err)
	}
	// One JSON value, and nothing after it but white space.
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errTrailing
		}
		return decodeError(err)
	}
	return nil
}

// errTrailing reports a second JSON value after the body's object.
var errTrailing = errors.New("trailing data after the JSON object")

// decodeError turns a JSON decoding failure into the client's error.
func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{status: http.StatusRequestEntityTooLarge, name: "PayloadTooLargeError",
			message: "Request body is larger than 64 KiB"}
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return refreshing.Invalid(typeErr.Field, "%s must be %s", typeErr.Field, kindName(typeErr.Type))
	case errors.As(err, &typeErr):
		return &apiError{status: http.StatusBadRequest, name: "ValidationError",
			message: "Request body must be a JSON object"}
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

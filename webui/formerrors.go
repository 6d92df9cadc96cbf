package webui

// fieldError is one mistake in a form, tied to the field it is about.
type fieldError struct {
	Field string // the id of the field's input
	Text  string
}

// formErrors are all the mistakes of one form, in the order of its fields:
// the error summary links to each, and each field shows its own beside it.
type formErrors []fieldError

// add records a mistake of field.
func (e *formErrors) add(field, text string) { *e = append(*e, fieldError{Field: field, Text: text}) }

// For is the message of field, or "".
func (e formErrors) For(field string) string {
	for _, f := range e {
		if f.Field == field {
			return f.Text
		}
	}
	return ""
}

// Get is the mistake of field, or nil.
func (e formErrors) Get(field string) *fieldError {
	for i := range e {
		if e[i].Field == field {
			return &e[i]
		}
	}
	return nil
}

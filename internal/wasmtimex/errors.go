package wasmtimex

// Trap is a trap, or another error that ended a guest call early.
type Trap struct{ Message string }

func (t *Trap) Error() string { return t.Message }

// Exit is a WASI proc_exit during a guest call.
type Exit struct {
	Code    int
	Message string
}

func (e *Exit) Error() string { return e.Message }

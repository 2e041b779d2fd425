package wasi

import (
	"reflect"
	"testing"
)

func TestSplitEnv(t *testing.T) {
	tests := []struct {
		env          []string
		keys, values []string
		ok           bool
	}{
		{nil, nil, nil, true},
		{[]string{"A=1", "B="}, []string{"A", "B"}, []string{"1", ""}, true},
		{[]string{"PATH=/a=b"}, []string{"PATH"}, []string{"/a=b"}, true},
		{[]string{"NOEQUALS"}, nil, nil, false},
		{[]string{"=value"}, nil, nil, false},
	}
	for _, tt := range tests {
		keys, values, err := splitEnv(tt.env)
		if (err == nil) != tt.ok || !reflect.DeepEqual(keys, tt.keys) || !reflect.DeepEqual(values, tt.values) {
			t.Errorf("splitEnv(%q) = %q, %q, %v", tt.env, keys, values, err)
		}
	}
}

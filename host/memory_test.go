package host_test

import (
	"context"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// A guest may grow its memory to the whole 4 GiB of wasm32 (no MaxMemory,
// the default): ranges that end at its very end, 1<<32, are served, not
// wrapped to 0 by 32-bit arithmetic (that was a host panic in
// poll_oneoff). The guest exits 0 when every call wrote what it should.
func TestRangesAtTheEndOf4GiB(t *testing.T) {
	const guest = `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $check (param $ok i32) (param $code i32)
    (if (i32.eqz (local.get $ok)) (then (call $exit (local.get $code)))))
  (func (export "_start")
    (call $check (i32.ne (memory.grow (i32.const 65535)) (i32.const -1)) (i32.const 100))
    ;; A clock subscription due at once; its event in the last 32 bytes.
    (i64.store (i32.const 0) (i64.const 0x1234))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 0))
    (call $check (i32.eqz (call $poll (i32.const 0) (i32.const 0xffffffe0) (i32.const 1) (i32.const 64))) (i32.const 101))
    (call $check (i32.eq (i32.load (i32.const 64)) (i32.const 1)) (i32.const 102))
    (call $check (i64.eq (i64.load (i32.const 0xffffffe0)) (i64.const 0x1234)) (i32.const 103))
    ;; Its count in the last 4 bytes.
    (call $check (i32.eqz (call $poll (i32.const 0) (i32.const 128) (i32.const 1) (i32.const 0xfffffffc))) (i32.const 104))
    (call $check (i32.eq (i32.load (i32.const 0xfffffffc)) (i32.const 1)) (i32.const 105))
    ;; fd_read's iovec and count in the last 12 bytes (stdin is empty).
    (i32.store (i32.const 0xfffffff4) (i32.const 256))
    (i32.store (i32.const 0xfffffff8) (i32.const 16))
    (i32.store (i32.const 0xfffffffc) (i32.const 7))
    (call $check (i32.eqz (call $read (i32.const 0) (i32.const 0xfffffff4) (i32.const 1) (i32.const 0xfffffffc))) (i32.const 106))
    (call $check (i32.eqz (i32.load (i32.const 0xfffffffc))) (i32.const 107))
    ;; The clock in the last 8 bytes.
    (call $check (i32.eqz (call $clock (i32.const 1) (i64.const 0) (i32.const 0xfffffff8))) (i32.const 108))
    (call $check (i64.ne (i64.load (i32.const 0xfffffff8)) (i64.const 0)) (i32.const 109))
    ;; One byte further is outside.
    (call $check (i32.eq (call $poll (i32.const 0) (i32.const 0xffffffe1) (i32.const 1) (i32.const 64)) (i32.const 21)) (i32.const 110))))`
	code, err := host.Run(context.Background(), wat(t, guest), host.Config{Args: []string{"top.wasm"}})
	if code != 0 || err != nil {
		t.Fatalf("Run = %d, %v; want 0 (100: memory.grow failed; 101-110: the check that failed)", code, err)
	}
}

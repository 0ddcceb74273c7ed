package hashcash

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMintVerifies(t *testing.T) {
	for _, tt := range []struct {
		bits, salt uint
		resource   string
	}{
		{1, 8, "r"},
		{8, 40, "tok"},
		{13, 40, strings.Repeat("x", 36) + "aGFzaA=="},
		{16, 12, strings.Repeat("y", 63)}, // prefix ends near a block boundary
		{20, 40, "some_token_value" + strings.Repeat("h", 44)},
	} {
		m := &Minter{Bits: tt.bits, SaltChars: tt.salt, Now: func() time.Time { return day }}
		s, err := m.Mint(tt.resource)
		if err != nil {
			t.Fatalf("Mint(%d bits): %v", tt.bits, err)
		}
		p, err := Verify(s, tt.resource, tt.bits, day)
		if err != nil {
			t.Fatalf("Verify(%q) = %v", s, err)
		}
		if p.Bits != tt.bits || uint(len(p.Salt)) != tt.salt || p.Ext != "" {
			t.Errorf("stamp %q: bits %d salt %d, want %d and %d", s, p.Bits, len(p.Salt), tt.bits, tt.salt)
		}
		// Whole nibbles, so nibble-counting verifiers accept it too.
		if z, want := p.ZeroBits(), int((tt.bits+3)/4*4); z < want {
			t.Errorf("stamp %q has %d zero bits, want >= %d", s, z, want)
		}
		if strings.Trim(p.Counter, "0123456789abcdef") != "" {
			t.Errorf("counter %q is not lower-case hex", p.Counter)
		}
	}
}

func TestMintDefaultsAndUTC(t *testing.T) {
	// 23:30 at UTC-5 is already the next day in UTC.
	now := time.Date(2026, 11, 27, 23, 30, 0, 0, time.FixedZone("EST", -5*3600))
	s, err := (&Minter{Bits: 4, Now: func() time.Time { return now }}).Mint("r")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Parse(s)
	if got := p.Date.Format(DateFormat); got != "261128" {
		t.Errorf("date = %s, want the UTC date 261128", got)
	}
	if len(p.Salt) != int(DefaultSaltChars) {
		t.Errorf("salt length = %d, want %d", len(p.Salt), DefaultSaltChars)
	}
	var zero Minter
	if s, err = zero.Mint("r"); err != nil {
		t.Fatal(err)
	}
	if p, _ = Parse(s); p.Bits != DefaultBits {
		t.Errorf("zero Minter claims %d bits, want %d", p.Bits, DefaultBits)
	}
}

func TestMintRejects(t *testing.T) {
	if _, err := (&Minter{Bits: 8}).Mint("a:b"); !errors.Is(err, ErrMalformed) {
		t.Errorf("resource with ':' error = %v, want ErrMalformed", err)
	}
	if _, err := (&Minter{Bits: MaxBits + 1}).Mint("r"); !errors.Is(err, ErrTooHard) {
		t.Errorf("%d bits error = %v, want ErrTooHard", MaxBits+1, err)
	}
}

func TestMintCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := (&Minter{Bits: 40, Workers: 4}).MintContext(ctx, "r")
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the workers start
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("MintContext after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("MintContext still running 1s after cancel")
	}
	waitGoroutines(t, before)
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left, want %d", runtime.NumGoroutine(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestIncHex(t *testing.T) {
	for _, tt := range [][2]string{{"00", "01"}, {"09", "0a"}, {"0f", "10"}, {"ff", "00"}, {"a9", "aa"}} {
		b := []byte(tt[0])
		incHex(b)
		if string(b) != tt[1] {
			t.Errorf("incHex(%s) = %s, want %s", tt[0], b, tt[1])
		}
	}
}

// TestWorkerPanicIsAnError: a panic in a minting goroutine stops the search
// and comes back as an error; the process goes on and no worker is left.
func TestWorkerPanicIsAnError(t *testing.T) {
	testHookWorker = func(start uint64) {
		if start == 1<<56 {
			panic("worker bug")
		}
	}
	defer func() { testHookWorker = nil }()
	m := &Minter{Bits: 40, Workers: 4} // would take days: only the panic ends it
	_, err := m.MintContext(context.Background(), "resource")
	if err == nil || !strings.Contains(err.Error(), "worker bug") {
		t.Fatalf("MintContext with a panicking worker = %v, want the panic as an error", err)
	}
}

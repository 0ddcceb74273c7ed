package gotestdata

import "testing"

func TestPasses(t *testing.T) {}

func TestSkipsWithReason(t *testing.T) {
	t.Skip("needs a thing this machine lacks")
}

func TestSubtestSkips(t *testing.T) {
	t.Run("one", func(t *testing.T) { t.Skipf("sub reason %d", 1) })
}

func TestFails(t *testing.T) {
	t.Log("what went wrong")
	t.Fail()
}

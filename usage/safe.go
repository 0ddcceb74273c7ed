package usage

import "fmt"

// protect runs f, a call into code the reporter does not own (a UsageClient
// or a Minter), turning a panic into a *panicError logged at ERROR. The
// reporter then treats it as a failed attempt and goes on: it never takes
// down its host.
func (r *Reporter) protect(where string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = r.recovered(where, p)
		}
	}()
	return f()
}

// recovered logs a recovered panic value and returns it as an error.
func (r *Reporter) recovered(where string, p interface{}) error {
	r.logger().Error(fmt.Sprintf("Recovered from panic in %s: %s", where, oneLine(fmt.Sprint(p), maxReasonLen)))
	return &panicError{where: where, value: p}
}

// logger is the Logger to write to, usable before init too.
func (r *Reporter) logger() Logger {
	if r.log == nil {
		return safeLogger{noopLogger{}}
	}
	return r.log
}

// safeLogger shields the reporter from a Logger that panics: the line is
// lost, the reporter goes on.
type safeLogger struct{ l Logger }

func (s safeLogger) Debug(v ...interface{})   { defer swallow(); s.l.Debug(v...) }
func (s safeLogger) Info(v ...interface{})    { defer swallow(); s.l.Info(v...) }
func (s safeLogger) Warning(v ...interface{}) { defer swallow(); s.l.Warning(v...) }
func (s safeLogger) Error(v ...interface{})   { defer swallow(); s.l.Error(v...) }

func swallow() { _ = recover() }

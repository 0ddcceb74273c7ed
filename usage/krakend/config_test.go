package krakend

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// configReference is the page that documents every config key.
var configReference = filepath.Join("..", "..", "docs", "gateway.md")

// keyRow is a table row of the reference whose first cell is a key.
var keyRow = regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|")

// Every config key is in the configuration reference's table of keys,
// and the table names no key the parser does not accept.
func TestConfigReferenceListsEveryKey(t *testing.T) {
	b, err := os.ReadFile(configReference)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no %s: the module is not in its repository", configReference)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration reference\n")
	if ok {
		_, section, ok = strings.Cut(section, "\n### Keys\n")
	}
	if !ok {
		t.Fatalf(`%s has no "## Configuration reference" section with a "### Keys" table`, configReference)
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	var documented []string
	for _, m := range keyRow.FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	for k := range keys {
		if !slices.Contains(documented, k) {
			t.Errorf("config key %q is missing from the table of keys in %s", k, configReference)
		}
	}
	for _, k := range documented {
		if _, ok := keys[k]; !ok {
			t.Errorf("%s documents %q, which is not a config key", configReference, k)
		}
	}
}

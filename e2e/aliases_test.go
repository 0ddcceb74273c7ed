package e2e

import (
	"archive/tar"
	"compress/gzip"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// krakendSources finds the release sources of KrakenD CE (git archives of
// each tag, krakend-ce-vVERSION.tar.gz) beside the checkout, as the shared
// build script keeps them, or in KRAKEND_CE_SRC.
func krakendSources(t *testing.T) []string {
	t.Helper()
	var dirs []string
	if d := os.Getenv("KRAKEND_CE_SRC"); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, filepath.Join("..", "shared", "krakend-ce", "src"), "/work/shared/krakend-ce/src")
	for _, d := range dirs {
		if files, _ := filepath.Glob(filepath.Join(d, "krakend-ce-v*.tar.gz")); len(files) > 0 {
			return files
		}
	}
	testenv.SkipOrFail(t, "no KrakenD CE release sources (krakend-ce-vVERSION.tar.gz) in KRAKEND_CE_SRC or ../shared/krakend-ce/src: the alias table is not compared with KrakenD's")
	return nil
}

// releaseAliases reads the aliases map of cmd/krakend-ce/main.go in a
// release's source archive.
func releaseAliases(t *testing.T, archive string) map[string]string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const main = "krakend-ce/cmd/krakend-ce/main.go"
	return aliasesFromSource(t, fileInArchive(t, f, archive, func(name string) bool { return name == main }))
}

// fileInArchive returns the first file of the .tar.gz r (named archive in
// errors) whose slash-separated name is wanted, or fails the test.
func fileInArchive(t *testing.T, r io.Reader, archive string, wanted func(name string) bool) []byte {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no such file", archive)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !wanted(filepath.ToSlash(h.Name)) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func aliasesFromSource(t *testing.T, src []byte) map[string]string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "aliases" || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		for _, el := range lit.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			k, _ := kv.Key.(*ast.BasicLit)
			v, _ := kv.Value.(*ast.BasicLit)
			if k == nil || v == nil {
				continue
			}
			ks, _ := strconv.Unquote(k.Value)
			vstr, _ := strconv.Unquote(v.Value)
			out[ks] = vstr
		}
		return false
	})
	if len(out) == 0 {
		t.Fatal("no aliases map in cmd/krakend-ce/main.go")
	}
	return out
}

// Every legacy name a supported KrakenD release registers is in the one
// table, mapped to the same current name.
func TestAliasTableCoversEveryRelease(t *testing.T) {
	for _, archive := range krakendSources(t) {
		t.Run(filepath.Base(archive), func(t *testing.T) {
			for legacy, current := range releaseAliases(t, archive) {
				got, ok := krakend.Canonical(legacy)
				switch {
				case !ok:
					t.Errorf("KrakenD's alias %q (for %q) is not in krakend.LegacyAliases", legacy, current)
				case got != current:
					t.Errorf("krakend.Canonical(%q) = %q, KrakenD says %q", legacy, got, current)
				case !krakend.Known(current):
					t.Errorf("current name %q is not in the components table", current)
				}
			}
		})
	}
}

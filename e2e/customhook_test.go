package e2e

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// The custom-build hook of KrakenD CE (docs/gateway.md, "In a KrakenD CE
// build"): the page's factory file, as written, compiled against each
// release's own declarations of the hook, read from its source archive,
// at the lura pins of this repository. krakend-ce itself cannot be built
// here (its dependencies are refused by every mirror), so the KrakenD
// package is a stand-in printed from the release's executor.go.

// krakendCEModule is the module path of krakend-ce in each major version.
var krakendCEModule = map[string]string{"v2": "github.com/krakend/krakend-ce/v2", "v3": "github.com/krakend/krakend-ce/v3"}

func TestCustomBuildFactoryCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	v3File, v2Imports := customBuildSnippets(t)
	v2File := replaceImports(t, v3File, v2Imports)
	for _, tc := range []struct {
		name, archive, modfile, lura, file string
	}{
		{"3.0 dev-3.0", "krakend-ce-dev-3.0-27801f5.tar.gz", "lura3/go.mod", "v3", v3File},
		{"3.0 PR 1106", "krakend-ce-pr1106-f5ea7c9.tar.gz", "lura3/dropplugin.mod", "v3", v3File},
		{"2.13.8", "krakend-ce-v2.13.8.tar.gz", "targets/2.13.8.mod", "v2", v2File},
	} {
		t.Run(tc.name, func(t *testing.T) {
			executor := archiveFile(t, tc.archive, "executor.go")
			dir := t.TempDir()
			stub := filepath.Join(dir, "krakend-ce")
			writeStubKrakenD(t, stub, executor, tc.lura, luraPin(t, tc.modfile, tc.lura))
			main := filepath.Join(dir, "custombuild")
			writeCustomBuild(t, main, tc.modfile, stub, krakendCEModule[tc.lura])
			for name, src := range map[string]string{"usage.go": tc.file, "main.go": "package main\n\nfunc main() { _ = newExecutorBuilder() }\n"} {
				if err := os.WriteFile(filepath.Join(main, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
			cmd.Dir = main
			cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				msg := fmt.Sprintf("docs/gateway.md's custom-build file does not build against %s with %s: %v\n%s", tc.archive, tc.modfile, err, out)
				if s := string(out); strings.Contains(s, "404") || strings.Contains(s, "410") || strings.Contains(s, "no such host") {
					testenv.SkipOrFail(t, "cannot fetch a module (lura v3 comes from the shared goproxy here: GOPROXY=file://…/shared/goproxy,…): "+msg)
				}
				t.Error(msg)
			}
		})
	}
}

// customBuildSnippets returns the 3.0 file of docs/gateway.md's custom
// build section and the import block it gives for 2.13.
func customBuildSnippets(t *testing.T) (file, v2Imports string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("docs", "gateway.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "#### In a KrakenD CE build")
	if !ok {
		t.Fatal(`docs/gateway.md has no "#### In a KrakenD CE build" section`)
	}
	var blocks []string
	for rest := section; ; {
		var code string
		if _, rest, ok = strings.Cut(rest, "```go\n"); !ok {
			break
		}
		if code, rest, ok = strings.Cut(rest, "```"); !ok {
			break
		}
		blocks = append(blocks, code)
	}
	for _, code := range blocks {
		switch {
		case strings.Contains(code, "\npackage main\n") && file == "":
			file = code
		case strings.HasPrefix(code, "import (") && strings.Contains(code, krakendCEModule["v2"]):
			v2Imports = code
		}
	}
	if file == "" || v2Imports == "" {
		t.Fatalf("docs/gateway.md's custom-build section lacks the 3.0 file (package main) or the 2.13 import block; found %d Go blocks", len(blocks))
	}
	return file, v2Imports
}

// replaceImports returns file with its import block replaced by imports.
func replaceImports(t *testing.T, file, imports string) string {
	t.Helper()
	i := strings.Index(file, "import (")
	j := strings.Index(file[max(i, 0):], "\n)\n")
	if i < 0 || j < 0 {
		t.Fatalf("no import block in:\n%s", file)
	}
	return file[:i] + strings.TrimSpace(imports) + file[i+j+2:]
}

// archiveFile returns the file name at the top of a KrakenD CE source
// archive (krakend-ce/NAME, or PREFIX/NAME in the 3.0 archives).
func archiveFile(t *testing.T, archive, name string) []byte {
	t.Helper()
	dir := filepath.Dir(krakendSources(t)[0])
	f, err := os.Open(filepath.Join(dir, archive))
	if err != nil {
		testenv.SkipOrFail(t, fmt.Sprintf("no KrakenD CE source archive %s beside the others: %v", archive, err))
	}
	defer f.Close()
	return fileInArchive(t, f, archive, func(n string) bool {
		parts := strings.Split(n, "/")
		return len(parts) == 2 && parts[1] == name
	})
}

// luraPin returns the version of lura (major "v2" or "v3") a modfile
// requires.
func luraPin(t *testing.T, modFile, major string) string {
	t.Helper()
	f := parseModFile(t, modFile)
	path := "github.com/luraproject/lura/" + major
	for _, r := range f.Require {
		if r.Mod.Path == path {
			return r.Mod.Version
		}
	}
	t.Fatalf("%s does not require %s", modFile, path)
	return ""
}

func parseModFile(t *testing.T, name string) *modfile.File {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(name, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// hookTypes are the declarations of executor.go the stand-in keeps.
var hookTypes = map[string]bool{"RunServer": true, "RunServerFactory": true, "DefaultRunServerFactory": true, "ExecutorBuilder": true}

// writeStubKrakenD writes, in dir, a module named like krakend-ce of that
// major version whose package holds the hook's declarations from the
// release's executor.go: RunServer, RunServerFactory,
// DefaultRunServerFactory with its NewRunServer method (its body a plain
// conversion of next: the CORS module is not here), and ExecutorBuilder
// with its RunServerFactory field only.
func writeStubKrakenD(t *testing.T, dir string, executor []byte, major, luraVersion string) {
	t.Helper()
	fset := token.NewFileSet()
	src, err := parser.ParseFile(fset, "executor.go", executor, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	lura := "github.com/luraproject/lura/" + major
	fmt.Fprintf(&out, "package krakend\n\nimport (\n\t\"context\"\n\t\"net/http\"\n\n\t%q\n\t%q\n\trouter %q\n)\n",
		lura+"/config", lura+"/logging", lura+"/router/gin")
	found := map[string]bool{}
	for _, d := range src.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok || !hookTypes[ts.Name.Name] {
					continue
				}
				if st, ok := ts.Type.(*ast.StructType); ok && ts.Name.Name == "ExecutorBuilder" {
					st.Fields.List = keepField(st.Fields.List, "RunServerFactory")
				}
				found[ts.Name.Name] = true
				out.WriteString("\ntype ")
				if err := format.Node(&out, fset, ts); err != nil {
					t.Fatal(err)
				}
				out.WriteString("\n")
			}
		case *ast.FuncDecl:
			if d.Recv == nil || d.Name.Name != "NewRunServer" || len(d.Type.Params.List) != 2 {
				continue
			}
			next := d.Type.Params.List[1].Names[0].Name
			d.Body = &ast.BlockStmt{List: []ast.Stmt{&ast.ReturnStmt{Results: []ast.Expr{
				&ast.CallExpr{Fun: ast.NewIdent("RunServer"), Args: []ast.Expr{ast.NewIdent(next)}}}}}}
			d.Doc = nil
			found["NewRunServer"] = true
			out.WriteString("\n")
			if err := format.Node(&out, token.NewFileSet(), d); err != nil {
				t.Fatal(err)
			}
			out.WriteString("\n")
		}
	}
	for _, name := range []string{"RunServer", "RunServerFactory", "DefaultRunServerFactory", "ExecutorBuilder", "NewRunServer"} {
		if !found[name] {
			t.Fatalf("executor.go has no %s: the hook changed", name)
		}
	}
	gomod := fmt.Sprintf("module %s\n\ngo 1.25.0\n\nrequire %s %s\n", krakendCEModule[major], lura, luraVersion)
	writeFiles(t, dir, map[string]string{"go.mod": gomod, "executor.go": out.String()})
}

// keepField returns the fields of list named name.
func keepField(list []*ast.Field, name string) []*ast.Field {
	var out []*ast.Field
	for _, f := range list {
		for _, n := range f.Names {
			if n.Name == name {
				out = append(out, &ast.Field{Names: []*ast.Ident{n}, Type: f.Type})
			}
		}
	}
	return out
}

// writeCustomBuild writes, in dir, the go.mod and go.sum of a custom
// build: modFile's requirements and replacements (relative paths made
// absolute), the module of modFile itself (lura3 or this one) from this
// checkout, and krakend-ce from the stand-in in stub.
func writeCustomBuild(t *testing.T, dir, modFile, stub, krakendCE string) {
	t.Helper()
	f := parseModFile(t, modFile)
	base, err := filepath.Abs(filepath.Dir(modFile))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(base) == "targets" { // targets/<release>.mod resolves from the repository root
		base = filepath.Dir(base)
	}
	self := f.Module.Mod.Path
	for _, r := range f.Replace {
		if r.New.Version == "" && !filepath.IsAbs(r.New.Path) {
			if err := f.AddReplace(r.Old.Path, r.Old.Version, filepath.Join(base, r.New.Path), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	for path, to := range map[string]string{self: base, krakendCE: stub} {
		version := "v0.0.0"
		if _, major, ok := module.SplitPathVersion(path); ok && major != "" {
			version = major[1:] + ".0.0" // "/v3" → "v3.0.0"
		}
		if err := f.AddRequire(path, version); err != nil {
			t.Fatal(err)
		}
		if err := f.AddReplace(path, "", to, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.AddModuleStmt("example.com/custombuild"); err != nil {
		t.Fatal(err)
	}
	gomod, err := f.Format()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(strings.TrimSuffix(modFile, ".mod") + ".sum")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"go.mod": string(gomod), "go.sum": string(sum)})
}

// writeFiles writes each named file in dir, creating dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package compat

import (
	"context"
	"reflect"
	"testing"
	"time"

	orig "github.com/krakend/krakend-usage/v2"

	"github.com/krakend-usage/krakend-usage/usage"
)

// Code written against the original compiles against ours: every exported
// identifier with the same signature.
var (
	_ func(context.Context, usage.Options, usage.UsageClient) error                            = usage.Report
	_ func(usage.Options, usage.UsageClient) (*usage.Reporter, error)                          = usage.New
	_ time.Duration                                                                            = usage.ReportExpiration
	_ func(*usage.Reporter, context.Context)                                                   = (*usage.Reporter).Report
	_ func(*usage.Reporter, context.Context) error                                             = (*usage.Reporter).SingleReport
	_ usage.UsageClient                                                                        = &usage.Client{}
	_ usage.HTTPClient                                                                         = &usage.BasicClient{}
	_ func(*usage.UsageData) (string, error)                                                   = (*usage.UsageData).Hash
	_ func(*usage.UsageData) bool                                                              = (*usage.UsageData).Expired
	_ func(*usage.Client, context.Context, *usage.SessionRequest) (*usage.SessionReply, error) = (*usage.Client).NewSession
	_ func(*usage.Client, context.Context, *usage.ReportRequest) (*usage.ReportReply, error)   = (*usage.Client).SendReport
	_ func(*usage.BasicClient, context.Context, string, interface{}, interface{}) error        = (*usage.BasicClient).Send
)

// TestStructsMatchOriginal: every field of every original struct exists in
// ours, in the same order, with the same type and JSON tag.
func TestStructsMatchOriginal(t *testing.T) {
	pairs := []struct{ orig, ours interface{} }{
		{orig.Options{}, usage.Options{}},
		{orig.Reporter{}, usage.Reporter{}},
		{orig.Client{}, usage.Client{}},
		{orig.BasicClient{}, usage.BasicClient{}},
		{orig.SessionRequest{}, usage.SessionRequest{}},
		{orig.SessionReply{}, usage.SessionReply{}},
		{orig.ReportRequest{}, usage.ReportRequest{}},
		{orig.ReportReply{}, usage.ReportReply{}},
		{orig.UsageData{}, usage.UsageData{}},
	}
	for _, p := range pairs {
		ot, nt := reflect.TypeOf(p.orig), reflect.TypeOf(p.ours)
		for i := 0; i < ot.NumField(); i++ {
			of := ot.Field(i)
			if i >= nt.NumField() {
				t.Errorf("%s: field %s missing", nt.Name(), of.Name)
				continue
			}
			nf := nt.Field(i)
			if nf.Name != of.Name || nf.Tag != of.Tag || typeName(nf.Type) != typeName(of.Type) {
				t.Errorf("%s field %d: %s %s `%s`, want %s %s `%s`", nt.Name(), i,
					nf.Name, typeName(nf.Type), nf.Tag, of.Name, typeName(of.Type), of.Tag)
			}
		}
	}
	// Interfaces: same method sets.
	for _, p := range [][2]reflect.Type{
		{reflect.TypeOf((*orig.Minter)(nil)).Elem(), reflect.TypeOf((*usage.Minter)(nil)).Elem()},
		{reflect.TypeOf((*orig.UsageClient)(nil)).Elem(), reflect.TypeOf((*usage.UsageClient)(nil)).Elem()},
		{reflect.TypeOf((*orig.HTTPClient)(nil)).Elem(), reflect.TypeOf((*usage.HTTPClient)(nil)).Elem()},
	} {
		if p[0].NumMethod() != p[1].NumMethod() {
			t.Errorf("%s has %d methods, original %d", p[1].Name(), p[1].NumMethod(), p[0].NumMethod())
		}
		for i := 0; i < p[0].NumMethod(); i++ {
			m, ok := p[1].MethodByName(p[0].Method(i).Name)
			if !ok || typeName(m.Type) != typeName(p[0].Method(i).Type) {
				t.Errorf("%s.%s differs from the original", p[1].Name(), p[0].Method(i).Name)
			}
		}
	}
	// Both Minter interfaces are satisfied by the same implementations.
	var _ orig.Minter = usage.Minter(nil)
}

// typeName renders a type; both packages are named usage, so a field of
// type usage.Options reads the same in either.
func typeName(t reflect.Type) string { return t.String() }

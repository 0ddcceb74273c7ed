package postgres_test

import (
	"context"
	"testing"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.RequirePostgres(t)
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dsn := storetest.PostgresDSN(t)
		return func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, dsn) }
	})
}

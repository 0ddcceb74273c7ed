module github.com/krakend-usage/krakend-usage/compat

go 1.25.3

require (
	github.com/catalinc/hashcash v0.0.0-20161205220751-e6bc29ff4de9
	github.com/krakend-usage/krakend-usage/usage v0.0.0
	github.com/krakend/krakend-usage/v2 v2.1.0
)

replace github.com/krakend-usage/krakend-usage/usage => ../usage

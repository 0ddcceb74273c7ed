// Package ui is the collector's pages: the dashboard (the fleet, drawn as
// inline SVG charts on the server, so it works offline and without
// JavaScript), the cluster list and a cluster's page, their static files,
// and the public view (a page and its JSON, which tell no cluster from
// another).
//
// It reads the fleet through the collector's read API ([Config]) and the
// store, and answers through the envelope of package httpx; it knows
// nothing of reports, sessions or the intake. The collector registers its
// routes ([Pages.AdminRoutes], [Pages.PublicRoutes]) and guards them.
package ui

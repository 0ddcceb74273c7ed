// Package deploytest holds the tests of the ways the collector is
// deployed: the image (../Dockerfile), the compose file, the Kubernetes
// manifest and the systemd unit (../../deploy), and the release build
// (make collector-dist). See README.md for what each needs.
package deploytest

// Command etcd is upstream etcd, built through a wrapper module so that the test bed can build it
// with `go build` (etcd's own module uses replace directives, which make `go install` fail).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

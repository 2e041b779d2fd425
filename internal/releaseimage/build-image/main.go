// Command build-image writes wasm-bpf's container image (package
// releaseimage) from a static binary, without Docker: to a registry, or to
// an OCI image layout directory for umoci, skopeo or podman.
//
//	go run ./internal/releaseimage/build-image [-layout DIR] BINARY REF
//
// Credentials for the registry come from the Docker config; the creation
// time from $SOURCE_DATE_EPOCH (default: the epoch, for reproducible
// digests). It prints the reference with the image's digest.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wasm-bpf/wasm-bpf/internal/releaseimage"
)

func main() {
	dir := flag.String("layout", "", "write to the OCI image layout `DIR`, tagged REF, instead of pushing")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: build-image [-layout DIR] BINARY REF")
		os.Exit(2)
	}
	if err := build(flag.Arg(0), flag.Arg(1), *dir); err != nil {
		fmt.Fprintln(os.Stderr, "build-image:", err)
		os.Exit(1)
	}
}

func build(binary, ref, dir string) error {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	created := time.Unix(0, 0)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		created = time.Unix(sec, 0)
	}
	img, err := releaseimage.Build(bin, created)
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	if dir != "" {
		p, err := layout.FromPath(dir)
		if err != nil {
			if p, err = layout.Write(dir, empty.Index); err != nil {
				return err
			}
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
			return err
		}
		fmt.Printf("%s:%s@%s\n", dir, ref, d)
		return nil
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return err
	}
	fmt.Printf("%s@%s\n", r.Context(), d)
	return nil
}

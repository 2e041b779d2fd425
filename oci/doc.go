// Package oci moves wasm-bpf guests through OCI registries: it pushes a
// module as a Wasm OCI artifact, pulls one into a local content-addressed
// store, and signs and verifies guests in cosign's format.
//
// # Artifacts
//
// [Client.Push] writes the Wasm OCI artifact layout used across the Wasm
// ecosystem (CNCF TAG Runtime; wasm-pkg-tools, runwasi, Spin): an OCI image
// manifest whose config has media type [ConfigMediaType] and whose one
// layer, of media type [LayerMediaType], is the module. [Client.Pull] also
// accepts the wasm-to-oci media types ([WasmToOCIConfigMediaType],
// [WasmToOCILayerMediaType]) that eunomia-bpf's `ecli push` writes, and any
// manifest with exactly one layer of either Wasm media type (what
// `oras push REF guest.wasm:application/wasm` writes).
//
// # What a guest asks of the kernel
//
// The manifest's annotations under [AnnotationPrefix] ([AnnotationPrograms],
// [AnnotationHelpers], [AnnotationCapabilities]) say what the module's BPF
// objects ask of the kernel. This package neither computes nor judges them:
// [PushOptions.Annotations] carries what the caller found in the module, and
// [PullOptions.Admit] is called with the manifest's annotations after the
// manifest (and its signature, if one is required) is checked and before
// the module itself is fetched, so that a guest the local policy would
// refuse is refused without downloading it. A label is a claim: the module
// is still checked when it loads.
//
// # The store
//
// [Store] is an OCI image layout on disk (the CLI keeps it in
// $XDG_CACHE_HOME/wasm-bpf/oci). Every blob is checked against its digest
// when it is written and every time it is read; a blob that does not match
// is deleted, and a pull fetches it again or, with [PullNever], refuses.
// A guest pulled by digest runs from the store without the network.
//
// # Signatures
//
// [Client.Sign] and [PullOptions.VerifyKey] use cosign's key-pair format
// without a transparency log: the signature of a manifest with digest
// sha256:HEX is an image tagged sha256-HEX.sig in the same repository,
// whose layers are simple-signing payloads naming the digest, each with its
// base64 signature in the dev.cosignproject.cosign/signature annotation.
// Keys are cosign's: PEM public keys and encrypted private keys (see
// [LoadPrivateKey], [GenerateKeyPair]).
//
// Registries are reached over TLS, except loopback ones (and any registry
// when [Client.Insecure] is set). Credentials come from the Docker config
// (~/.docker/config.json, or $DOCKER_CONFIG), credential helpers included.
package oci

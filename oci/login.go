package oci

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Login checks username and password against the registry and keeps them
// as `docker login` does: in the Docker config ($DOCKER_CONFIG/config.json,
// or ~/.docker/config.json), or in the credential helper the config names.
// It returns the config file's path.
func (c *Client) Login(ctx context.Context, registry, username, password string) (string, error) {
	var opts []name.Option
	if c.Insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(registry, opts...)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	// The registry's own word: its API root with these credentials (a token
	// registry is asked for a token first).
	auth := &authn.Basic{Username: username, Password: password}
	rt, err := transport.NewWithContext(ctx, reg, auth, c.transport(), []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return "", fmt.Errorf("login %s: %w", reg, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return "", fmt.Errorf("login %s: %w", reg, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login %s: the registry answered %s: wrong username or password?", reg, resp.Status)
	}

	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("login: %w", err)
		}
		dir = filepath.Join(home, ".docker")
	}
	cf, err := config.Load(dir)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	key := reg.RegistryStr()
	if key == name.DefaultRegistry {
		key = authn.DefaultAuthKey
	}
	if err := cf.GetCredentialsStore(key).Store(types.AuthConfig{ServerAddress: key, Username: username, Password: password}); err != nil {
		return "", fmt.Errorf("login: store the credentials: %w", err)
	}
	return cf.GetFilename(), nil
}

// Command oidcop is the test bed's OpenID provider: the example OP of github.com/zitadel/oidc/v3
// (a certified implementation) with static users, their groups and the clients Tidegate's tests
// register, read from a JSON file. Its signing key is made at start, so a restart rotates it.
//
// Usage: oidcop -config FILE -port N [-issuer URL]
//
// FILE: {"users": [{"id", "username", "password", "email", "groups": [...]}],
//
//	"clients": [{"id", "secret" ("" = a native client with PKCE), "redirectURIs": [...]}]}
//
// ID tokens carry "email", "preferred_username" and, when the scope "groups" is asked for,
// "groups".
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

type user struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	Email    string   `json:"email"`
	Groups   []string `json:"groups"`
}

type client struct {
	ID           string   `json:"id"`
	Secret       string   `json:"secret"`
	RedirectURIs []string `json:"redirectURIs"`
}

type config struct {
	Users   []user   `json:"users"`
	Clients []client `json:"clients"`
}

type users map[string]*storage.User

func (u users) GetUserByID(id string) *storage.User { return u[id] }

func (u users) GetUserByUsername(name string) *storage.User {
	for _, found := range u {
		if found.Username == name {
			return found
		}
	}
	return nil
}

func (u users) ExampleClientID() string { return "service" }

// groupStorage adds the claims Tidegate reads (email, preferred_username, groups) to ID tokens.
type groupStorage struct {
	*storage.Storage
	people map[string]user
}

// groupsClient lets a client ask for the "groups" scope (the example clients allow only their
// custom scope beyond the standard ones).
type groupsClient struct{ op.Client }

func (c groupsClient) IsScopeAllowed(scope string) bool {
	return scope == "groups" || c.Client.IsScopeAllowed(scope)
}

func (s *groupStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	found, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return groupsClient{found}, nil
}

func (s *groupStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	person, ok := s.people[req.GetSubject()]
	if !ok {
		return nil
	}
	info.Email = person.Email
	info.PreferredUsername = person.Username
	if slices.Contains(scopes, "groups") {
		info.AppendClaims("groups", person.Groups)
	}
	return nil
}

func main() {
	configPath := flag.String("config", "", "JSON file with users and clients")
	port := flag.String("port", "9998", "port to listen on (127.0.0.1)")
	issuer := flag.String("issuer", "", "issuer URL (default http://127.0.0.1:PORT/)")
	flag.Parse()
	if *issuer == "" {
		*issuer = fmt.Sprintf("http://127.0.0.1:%s/", *port)
	}
	raw, err := os.ReadFile(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidcop: cannot read config:", err)
		os.Exit(2)
	}
	var cfg config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "oidcop: bad config:", err)
		os.Exit(2)
	}
	store := users{}
	people := map[string]user{}
	for _, u := range cfg.Users {
		store[u.ID] = &storage.User{ID: u.ID, Username: u.Username, Password: u.Password, Email: u.Email, EmailVerified: true}
		people[u.ID] = u
	}
	for _, c := range cfg.Clients {
		if c.Secret == "" {
			storage.RegisterClients(storage.NativeClient(c.ID, c.RedirectURIs...))
		} else {
			storage.RegisterClients(storage.WebClient(c.ID, c.Secret, c.RedirectURIs...))
		}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	stor := &groupStorage{Storage: storage.NewStorage(store), people: people}
	router := exampleop.SetupServer(*issuer, stor, logger, false)
	server := &http.Server{Addr: "127.0.0.1:" + *port, Handler: router}
	logger.Info("listening", "issuer", *issuer)
	if err := server.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "oidcop:", err)
		os.Exit(1)
	}
}

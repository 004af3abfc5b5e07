package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// ServedModels lists the models ep serves (GET {base_url}/models), under
// the client's endpoint policy and with ep's key: for a command that
// takes the one model an endpoint serves when none is named. The names
// come from the endpoint: each is cut to one short line.
func (c *Client) ServedModels(ctx context.Context, ep Endpoint) ([]string, error) {
	base := strings.TrimRight(ep.BaseURL, "/")
	shown := redactURL(base + "/models")
	key, err := c.apiKey(ep)
	if err != nil {
		return nil, &CallError{Endpoint: shown, Err: err}
	}
	a, err := c.probe(ctx, http.MethodGet, base+"/models", key, nil)
	if err != nil {
		return nil, &CallError{Endpoint: shown, Attempts: preflightAttempts, Err: err}
	}
	if a.status != http.StatusOK {
		return nil, &CallError{Endpoint: shown, Attempts: 1, Err: a.apiError()}
	}
	var list ModelList
	if err := json.Unmarshal(a.body, &list); err != nil {
		return nil, &CallError{Endpoint: shown, Attempts: 1, Err: fmt.Errorf("%w: not a list of models", ErrBadResponse)}
	}
	names := make([]string, len(list.Data))
	for i, m := range list.Data {
		names[i] = clipBytes(sanitizeReason(a.red.text(m.ID)), maxServedName)
	}
	return names, nil
}

package rest

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/apikey"
	"github.com/mercantile/mercantile/ent/user"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/pulid"
)

// listJSON is the shape of every list: a page of rows and how to get the next one.
type listJSON[T any] struct {
	Data     []T          `json:"data"`
	PageInfo pageInfoJSON `json:"page_info"`
}

type pageInfoJSON struct {
	HasNextPage bool    `json:"has_next_page"`
	EndCursor   *string `json:"end_cursor"`
}

// newList converts a page of rows and builds its page info.
func newList[E any, T any](rows []E, more bool, id func(E) pulid.ID, convert func(E) T) listJSON[T] {
	out := listJSON[T]{Data: make([]T, 0, len(rows)), PageInfo: pageInfoJSON{HasNextPage: more}}
	for _, row := range rows {
		out.Data = append(out.Data, convert(row))
	}
	if len(rows) > 0 {
		c := paging.Cursor(id(rows[len(rows)-1]))
		out.PageInfo.EndCursor = &c
	}
	return out
}

func pageFrom(r *http.Request) (paging.Page, error) {
	q := r.URL.Query()
	return paging.Parse(q.Get("limit"), q.Get("after"))
}

type apiKeyJSON struct {
	ID         string  `json:"id"`
	Kind       string  `json:"kind"`
	Name       string  `json:"name"`
	Prefix     string  `json:"prefix"`
	LastUsedAt *string `json:"last_used_at"`
	RevokedAt  *string `json:"revoked_at"`
	CreatedAt  string  `json:"created_at"`
	// Secret is the whole key, present only in the response that created it.
	Secret string `json:"secret,omitempty"`
}

func toAPIKeyJSON(k *ent.APIKey) apiKeyJSON {
	return apiKeyJSON{
		ID: k.ID.String(), Kind: string(k.Kind), Name: k.Name, Prefix: k.Prefix,
		LastUsedAt: timeJSONPtr(k.LastUsedAt), RevokedAt: timeJSONPtr(k.RevokedAt), CreatedAt: timeJSON(k.CreatedAt),
	}
}

func (a *api) listKeys(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	keys, more, err := a.auth.ListKeys(r.Context(), p)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(keys, more, func(k *ent.APIKey) pulid.ID { return k.ID }, toAPIKeyJSON))
}

type createKeyRequest struct {
	Kind apikey.Kind `json:"kind"`
	Name string      `json:"name"`
}

func (a *api) createKey(w http.ResponseWriter, r *http.Request) {
	var req createKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	created, err := a.auth.CreateKey(r.Context(), req.Kind, req.Name)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	out := toAPIKeyJSON(created.Key)
	out.Secret = created.Secret
	writeJSON(w, http.StatusCreated, out)
}

func (a *api) revokeKey(w http.ResponseWriter, r *http.Request) {
	k, err := a.auth.RevokeKey(r.Context(), pulid.ID(chi.URLParam(r, "id")))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIKeyJSON(k))
}

type userJSON struct {
	ID          string  `json:"id"`
	Email       string  `json:"email"`
	Name        string  `json:"name"`
	Role        string  `json:"role"`
	LastLoginAt *string `json:"last_login_at"`
	CreatedAt   string  `json:"created_at"`
}

func toUserJSON(u *ent.User) userJSON {
	return userJSON{ID: u.ID.String(), Email: u.Email, Name: u.Name, Role: string(u.Role),
		LastLoginAt: timeJSONPtr(u.LastLoginAt), CreatedAt: timeJSON(u.CreatedAt)}
}

func (a *api) listUsers(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	users, more, err := a.auth.ListUsers(r.Context(), p)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(users, more, func(u *ent.User) pulid.ID { return u.ID }, toUserJSON))
}

type createUserRequest struct {
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Password string    `json:"password"`
	Role     user.Role `json:"role"`
}

func (a *api) createUser(w http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.Role == "" {
		req.Role = user.RoleStaff
	}
	u, err := a.auth.CreateUser(r.Context(), req.Email, req.Name, req.Password, req.Role)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u))
}

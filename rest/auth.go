package rest

import (
	"context"
	"net/http"
	"strings"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth"
	"github.com/mercantile/mercantile/internal/auth/viewer"
)

// access is who may call a route.
type access int

const (
	// public routes need no credentials.
	public access = iota
	// storefront routes accept publishable keys as well as secret keys and sessions.
	storefront
	// private routes need a secret key or a staff session.
	private
)

const (
	sessionCookie = "mercantile_session"
	csrfHeader    = "X-CSRF-Token"
)

// authenticate resolves the request's credentials to a viewer and enforces level.
func (a *api) authenticate(level access) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if level == public {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, err := a.viewerFor(r)
			if err != nil {
				if apperr.CodeOf(err) == apperr.Unauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="mercantile"`)
				}
				writeError(w, r, a.log, err)
				return
			}
			if level == private && v.IsStorefront() {
				writeError(w, r, a.log, apperr.New(apperr.Forbidden,
					"Publishable keys may only read the catalog, check availability and place orders."))
				return
			}
			next.ServeHTTP(w, r.WithContext(viewer.NewContext(r.Context(), v)))
		})
	}
}

// viewerFor authenticates a bearer key or, failing that, a session cookie. Cookie
// requests that change state must echo the session's CSRF token, since browsers attach
// cookies to cross-site requests too.
func (a *api) viewerFor(r *http.Request) (viewer.Viewer, error) {
	if header := r.Header.Get("Authorization"); header != "" {
		return a.viewerForAuthorization(r.Context(), header)
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		sess, err := a.auth.Session(r.Context(), c.Value)
		if err != nil {
			return viewer.Viewer{}, err
		}
		if !isSafeMethod(r.Method) && !sess.CheckCSRF(r.Header.Get(csrfHeader)) {
			return viewer.Viewer{}, apperr.New(apperr.Forbidden,
				"Requests made with a session cookie must send the session's %s header.", csrfHeader)
		}
		return sess.Viewer(), nil
	}
	return viewer.Viewer{}, apperr.New(apperr.Unauthorized,
		"Credentials are required: send Authorization: Bearer <key>, or log in for a session cookie.")
}

func (a *api) viewerForAuthorization(ctx context.Context, header string) (viewer.Viewer, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return viewer.Viewer{}, apperr.New(apperr.Unauthorized, "The Authorization header must be Bearer <key>.")
	}
	return a.auth.AuthenticateKey(ctx, strings.TrimSpace(token))
}

// authenticateWebsocket authenticates a GraphQL websocket from the Authorization value
// of its connection_init payload: browsers cannot set headers on the upgrade request.
func (a *api) authenticateWebsocket(ctx context.Context, authorization string) (context.Context, error) {
	if _, ok := viewer.FromContext(ctx); ok {
		return ctx, nil
	}
	v, err := a.viewerForAuthorization(ctx, authorization)
	if err != nil {
		return ctx, err
	}
	return viewer.NewContext(ctx, v), nil
}

// authenticateGraphQL is authenticate(storefront) except for websocket upgrades without
// credentials, which authenticate in their connection_init message instead.
func (a *api) authenticateGraphQL(next http.Handler) http.Handler {
	withAuth := a.authenticate(storefront)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocket(r) && r.Header.Get("Authorization") == "" {
			if _, err := r.Cookie(sessionCookie); err != nil {
				next.ServeHTTP(w, r)
				return
			}
		}
		withAuth.ServeHTTP(w, r)
	})
}

func isSafeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// sessionJSON is a session as the API shows it.
type sessionJSON struct {
	UserID     string `json:"user_id"`
	MerchantID string `json:"merchant_id"`
	Role       string `json:"role"`
	CSRFToken  string `json:"csrf_token"`
	ExpiresAt  string `json:"expires_at"`
}

func toSessionJSON(s auth.Session) sessionJSON {
	return sessionJSON{
		UserID:     s.UserID.String(),
		MerchantID: s.MerchantID.String(),
		Role:       string(s.Role),
		CSRFToken:  s.CSRFToken,
		ExpiresAt:  timeJSON(s.ExpiresAt),
	}
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (a *api) createSession(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	sess, err := a.auth.Login(r.Context(), req.Email, req.Password)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: sess.ID, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: a.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	writeJSON(w, http.StatusCreated, toSessionJSON(sess))
}

func (a *api) getSession(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		writeError(w, r, a.log, apperr.New(apperr.NotFound, "This request carries no session cookie."))
		return
	}
	sess, err := a.auth.Session(r.Context(), c.Value)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toSessionJSON(sess))
}

func (a *api) deleteSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := a.auth.Logout(r.Context(), c.Value); err != nil {
			writeError(w, r, a.log, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

package media

import (
	"log/slog"
	"net/http"

	"github.com/mercantile/mercantile/internal/platform/httperr"
)

// writeProblem renders err as the API's problem document.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	httperr.Write(w, r, slog.Default(), err)
}

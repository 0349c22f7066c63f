package reauth

import (
	"slices"

	"github.com/passcodebot/passcodebot/internal/htmlw"
)

// html writes the page. It writes what html/template wrote from the template
// this replaced (testdata/page.html: a test renders both with hostile values
// and compares the bytes); internal/htmlw says why there is no template.
func (pg page) html() []byte {
	var w htmlw.Writer
	w.M("<!doctype html>\n<html lang=\"")
	w.Text(pg.Lang)
	w.M("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
		"<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>")
	w.Text(pg.Title)
	w.M("</title>\n<link rel=\"stylesheet\" href=\"/assets/style.css\">\n</head>\n<body>\n<main>\n<h1>")
	w.Text(pg.Title)
	w.M("</h1>\n")
	if pg.Body != "" {
		w.M(`<p id="body">`)
		w.Text(pg.Body)
		w.M("</p>")
	}
	w.M("\n")
	if pg.Code != "" {
		w.M(`<p id="code" class="code">`)
		w.Text(pg.Code)
		w.M("</p>")
	}
	w.M("\n")
	if pg.Warning != "" {
		w.M(`<p id="warning" class="warning"><strong>`)
		w.Text(pg.Warning)
		w.M("</strong></p>")
	}
	w.M("\n")
	if pg.Action != "" {
		w.M("\n<form method=\"post\" action=\"")
		w.URL(pg.Action)
		w.M("\">\n")
		keys := make([]string, 0, len(pg.Hidden))
		for k := range pg.Hidden {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			w.M(`<input type="hidden" name="`)
			w.Text(k)
			w.M(`" value="`)
			w.Text(pg.Hidden[k])
			w.M("\">\n")
		}
		w.M("\n")
		if len(pg.Options) > 0 {
			w.M(`<label for="choice">`)
			w.Text(pg.Label)
			w.M("</label>\n<select id=\"choice\" name=\"choice\">\n")
			for _, o := range pg.Options {
				w.M(`<option value="`)
				w.Text(o.Value)
				w.M(`">`)
				w.Text(o.Label)
				w.M("</option>\n")
			}
			w.M("</select>\n")
		}
		w.M("\n<button type=\"submit\" id=\"continue\">")
		w.Text(pg.Button)
		w.M("</button>\n</form>\n")
		if pg.Auto {
			w.M("<script>document.forms[0].submit();</script>")
		}
		w.M("\n")
	}
	w.M("\n")
	if pg.Note != "" {
		w.M(`<p class="note">`)
		w.Text(pg.Note)
		w.M("</p>")
	}
	w.M("\n</main>\n</body>\n</html>\n")
	return w.Bytes()
}

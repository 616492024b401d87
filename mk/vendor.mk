# Vendored front-end packages (docs/vendor.md). `make vendor` installs the exact versions of
# vendor/package-lock.json with npm (no install scripts, no optional native packages) and copies the files
# into the repository: PDF.js into static/vendor/ (the in-app reader) and axe-core into tests/browser/vendor/
# (the browser tests' accessibility checker, docs/accessibility.md). The copies are committed: running the
# app, the tests and CI needs no npm; this target is the repeatable way to produce them (and to upgrade).

.PHONY: vendor

PDFJS_SRC := vendor/node_modules/pdfjs-dist
PDFJS_DST := static/vendor/pdfjs

vendor:
	@command -v npm >/dev/null || { echo "vendor: npm not found (apt-get install -y npm)" >&2; exit 1; }
	npm ci --prefix vendor --ignore-scripts --omit=optional --no-audit --no-fund
	rm -rf $(PDFJS_DST)
	mkdir -p $(PDFJS_DST)/standard_fonts $(PDFJS_DST)/wasm
	cp $(PDFJS_SRC)/build/pdf.min.mjs $(PDFJS_SRC)/build/pdf.worker.min.mjs $(PDFJS_SRC)/LICENSE $(PDFJS_DST)/
	cp $(PDFJS_SRC)/standard_fonts/* $(PDFJS_DST)/standard_fonts/
	cp $(PDFJS_SRC)/wasm/openjpeg_nowasm_fallback.js $(PDFJS_SRC)/wasm/jbig2_nowasm_fallback.js \
		$(PDFJS_SRC)/wasm/LICENSE_OPENJPEG $(PDFJS_SRC)/wasm/LICENSE_PDFJS_OPENJPEG \
		$(PDFJS_SRC)/wasm/LICENSE_JBIG2 $(PDFJS_SRC)/wasm/LICENSE_PDFJS_JBIG2 $(PDFJS_DST)/wasm/
	node -e 'const p=require("./$(PDFJS_SRC)/package.json"); require("fs").writeFileSync("$(PDFJS_DST)/VERSION", p.name+" "+p.version+" "+p.license+"\n")'
	@echo "vendor: $$(cat $(PDFJS_DST)/VERSION) copied into $(PDFJS_DST)"
	mkdir -p tests/browser/vendor
	cp vendor/node_modules/axe-core/axe.min.js tests/browser/vendor/axe.min.js
	cp vendor/node_modules/axe-core/LICENSE tests/browser/vendor/LICENSE

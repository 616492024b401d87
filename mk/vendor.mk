# Vendored front-end files (docs/vendor.md, docs/accessibility.md). The copied files are committed, so neither CI nor `make run`
# needs npm; `make vendor` is the repeatable step that refreshes them from vendor/package-lock.json.
#
#   make vendor    npm ci --prefix vendor, then copy axe-core (the browser tests' accessibility checker)
#                  into tests/browser/vendor/

.PHONY: vendor

vendor:
	@command -v npm >/dev/null || { echo "vendor: npm is needed (apt-get install -y npm)" >&2; exit 1; }
	npm ci --prefix vendor --no-audit --no-fund
	mkdir -p tests/browser/vendor
	cp vendor/node_modules/axe-core/axe.min.js tests/browser/vendor/axe.min.js
	cp vendor/node_modules/axe-core/LICENSE tests/browser/vendor/LICENSE

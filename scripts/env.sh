# Sourced by every script: puts cargo-installed tools and npm tools (wasm-opt from
# the binaryen package, terser) on PATH. Never Debian's binaryen: see README.
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

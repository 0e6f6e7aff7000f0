# html_check.bash - sourced by tests/run_all/*.sh (not a test itself: the runner takes
# *.sh only). Checks that a report.html is self-contained and that headless Chromium
# renders every chart in it. Needs the caller's $tmp (a scratch folder) and fail MSG.
# shellcheck disable=SC2154 # tmp is the caller's
# render HTML: headless Chromium loads a copy of the report with a script that, on
# load, writes how many <img> decoded (naturalWidth > 0) into the DOM; prints "N M".
render() {
    local html=$1 copy=$tmp/render.html
    cp "$html" "$copy"
    cat >> "$copy" <<'EOF'
<script>window.addEventListener('load', function () {
  var n = 0, im = document.images;
  for (var i = 0; i < im.length; i++) if (im[i].complete && im[i].naturalWidth > 0) n++;
  var p = document.createElement('p'); p.id = 'imgcheck';
  p.textContent = 'IMGCHECK ' + n + ' ' + im.length; document.body.appendChild(p);
});</script>
EOF
    timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=10000 \
        --user-data-dir="$tmp/chromium" --dump-dom "file://$copy" 2> "$tmp/chromium.err" |
        sed -n 's/.*IMGCHECK \([0-9]*\) \([0-9]*\).*/\1 \2/p' | tail -n 1
}
# self_contained HTML MIN_IMAGES: no external URL, no script, at least MIN <img>, each
# an embedded base64 PNG; prints the image count.
self_contained() {
    local html=$1 min=$2 imgs pngs
    [ -s "$html" ] || fail "$html not written"
    if grep -Eiq '(src|href)[[:space:]]*=[[:space:]]*["'"'"']?(https?:)?//|url\([^)]*//' "$html"; then
        fail "$html refers to an external URL: $(grep -Eio '(src|href)=["'"'"']?(https?:)?//[^"'"'"' >]*|url\([^)]*//[^)]*' "$html" | head -n 1)"
    fi
    grep -Eiq '<link|<script' "$html" && fail "$html has a <link> or <script>: not self-contained"
    imgs=$(grep -o '<img ' "$html" | wc -l)
    pngs=$(grep -o '<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]\{100,\}"' "$html" | wc -l)
    [ "$imgs" -ge "$min" ] || fail "$html: $imgs <img>, expected at least $min charts"
    [ "$imgs" -eq "$pngs" ] || fail "$html: $imgs <img> but $pngs embedded base64 PNGs"
    [ "$(grep -o '<figure>' "$html" | wc -l)" -eq "$imgs" ] || fail "$html: not one <img> per chart (<figure>)"
    echo "$imgs"
}
# check_html HTML MIN_IMAGES: self-contained, and Chromium decodes every image.
check_html() {
    local html=$1 imgs seen
    imgs=$(self_contained "$html" "$2")
    seen=$(render "$html")
    [ "$seen" = "$imgs $imgs" ] || { cat "$tmp/chromium.err" >&2; fail "$html: Chromium rendered '$seen' (decoded, total) of $imgs images"; }
    echo "ok: $html: $imgs charts, all rendered by Chromium"
}

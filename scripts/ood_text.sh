#!/bin/sh
# ood_text.sh OUT — assembles the out-of-domain evaluation text of docs/QUANTIZATION.md ("Out of domain"): English
# legal prose from Debian's /usr/share/common-licenses (GPL-3, GFDL-1.3, Apache-2.0, MPL-2.0, LGPL-2.1, Artistic,
# GPL-2; 136,921 bytes on Debian 12), nothing like pydoc-7m's Python documentation and never calibration text.
set -eu
out=${1:?usage: ood_text.sh OUT}
d=/usr/share/common-licenses
cat "$d/GPL-3" "$d/GFDL-1.3" "$d/Apache-2.0" "$d/MPL-2.0" "$d/LGPL-2.1" "$d/Artistic" "$d/GPL-2" > "$out"

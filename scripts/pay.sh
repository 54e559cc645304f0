#!/usr/bin/env bash
# Plays the payment provider for a development server: sends the webhook
# that reports a payment's outcome, signed as the provider signs it
# (X-Signature: t=UNIX_SECONDS,v1=HEX, HMAC-SHA256 over "t.body"), and
# prints the server's answer.
#
#   scripts/pay.sh PAYMENT_ID AMOUNT_CENTS [succeeded|failed]
#
# The server is $GB, else http://$GROUPBUYD_LISTEN, else 127.0.0.1:8080;
# the key is $GROUPBUYD_PAYMENT_WEBHOOK_SECRET, else the development value
# that `make run` uses.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 PAYMENT_ID AMOUNT_CENTS [succeeded|failed]" >&2
  exit 2
fi
id=$1 amount=$2 outcome=${3:-succeeded}
case "$id$amount" in *[!0-9]*) echo "pay: PAYMENT_ID and AMOUNT_CENTS are integers" >&2; exit 2 ;; esac
case "$outcome" in succeeded|failed) ;; *) echo "pay: outcome is succeeded or failed" >&2; exit 2 ;; esac
GB=${GB:-http://${GROUPBUYD_LISTEN:-127.0.0.1:8080}}
secret=${GROUPBUYD_PAYMENT_WEBHOOK_SECRET:-dev-webhook-secret-not-secret}

body=$(printf '{"payment_id":%s,"status":"%s","amount_cents":%s,"provider_ref":"dev_%s_%s"}' \
  "$id" "$outcome" "$amount" "$id" "$(date +%s%N)")
t=$(date +%s)
mac=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
curl -sS --fail-with-body -XPOST "$GB/v1/payments/webhook" \
  -H 'Content-Type: application/json' -H "X-Signature: t=$t,v1=$mac" -d "$body"
echo

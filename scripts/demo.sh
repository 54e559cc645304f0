#!/usr/bin/env bash
# Loads demo data into $GROUPBUYD_DATABASE_URL once (idempotent): a
# distributor with its owner, operator and finance staff, a customer, a
# product and an open campaign; then prints how to log in.
set -euo pipefail
: "${GROUPBUYD_DATABASE_URL:?set GROUPBUYD_DATABASE_URL}"
PASSWORD=${GROUPBUYD_DEMO_PASSWORD:-demo-password}

# PBKDF2-HMAC-SHA256 in groupbuyd's format, 600,000 iterations.
hash=$(/usr/bin/python3 - "$PASSWORD" <<'PY'
import base64, hashlib, os, sys
salt = os.urandom(16)
it = 600000
dk = hashlib.pbkdf2_hmac("sha256", sys.argv[1].encode(), salt, it, 32)
b = lambda x: base64.b64encode(x).decode().rstrip("=")
print("pbkdf2-sha256$%d$%s$%s" % (it, b(salt), b(dk)))
PY
)

psql "$GROUPBUYD_DATABASE_URL" -v ON_ERROR_STOP=1 -q -v hash="$hash" <<'SQL' >/dev/null
BEGIN;
SELECT pg_advisory_xact_lock(4242);
INSERT INTO distributors (name, commission_bp, currency)
SELECT '示范经销商 Demo Distributor', 500, 'CNY'
 WHERE NOT EXISTS (SELECT 1 FROM staff WHERE login = 'owner@demo.example');
INSERT INTO staff (distributor_id, login, password_hash, role)
SELECT d.id, v.login, :'hash', v.role
  FROM (SELECT max(id) AS id FROM distributors) d,
       (VALUES ('owner@demo.example', 'owner'),
               ('operator@demo.example', 'operator'),
               ('finance@demo.example', 'finance')) v(login, role)
 WHERE NOT EXISTS (SELECT 1 FROM staff WHERE login = 'owner@demo.example')
ON CONFLICT (login) DO NOTHING;
INSERT INTO customers (login, password_hash, display_name)
VALUES ('+8613800138000', :'hash', '张三')
ON CONFLICT (login) DO NOTHING;
INSERT INTO products (distributor_id, sku, name, description,
                      list_price_cents, cost_price_cents, stock)
SELECT s.distributor_id, 'DEMO-RICE-5KG', '五常大米 5kg', 'Demo product',
       9900, 6000, 1000
  FROM staff s WHERE s.login = 'owner@demo.example'
ON CONFLICT (distributor_id, sku) DO NOTHING;
INSERT INTO campaigns (distributor_id, product_id, title, description, status,
                       starts_at, ends_at, tier_basis, tiers, min_participants,
                       max_quantity, per_customer_limit, deposit_policy)
SELECT p.distributor_id, p.id, '五常大米团购 Demo group buy', 'Demo campaign',
       'open', now(), now() + interval '7 days', 'participants',
       '[{"threshold": 1, "unit_price_cents": 9900},
         {"threshold": 10, "unit_price_cents": 8900},
         {"threshold": 50, "unit_price_cents": 7900}]',
       10, 500, 2,
       '[{"min_score": 80, "deposit_percent": 0},
         {"min_score": 50, "deposit_percent": 10},
         {"min_score": 0, "deposit_percent": 30}]'
  FROM products p
 WHERE p.sku = 'DEMO-RICE-5KG'
   AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.product_id = p.id);
COMMIT;
SQL

cat <<MSG
demo data loaded. Log in (password "$PASSWORD"):
  staff:    curl -s -XPOST localhost:8080/v1/admin/sessions -d '{"login":"owner@demo.example","password":"$PASSWORD"}'
            (also operator@demo.example, finance@demo.example)
  shopper:  curl -s -XPOST localhost:8080/v1/sessions -d '{"login":"13800138000","password":"$PASSWORD"}'
MSG

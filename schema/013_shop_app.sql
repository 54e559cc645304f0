-- The shopper's orders carry their after-sales requests
-- (functions/orders.sql, gb_order_customer_json): each order of a customer's
-- list looks its requests up by order.
CREATE INDEX after_sales_order ON after_sales (order_id, id);

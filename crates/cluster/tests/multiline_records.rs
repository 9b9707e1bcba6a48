//! Multi-line records of common runtimes are joined into the record they belong to.

#![allow(clippy::unwrap_used)]

use faultline_cluster::parse_text_log;
use faultline_core::{LogRecord, ServiceId, Severity, Timestamp};

fn parse(text: &str) -> Vec<LogRecord> {
    parse_text_log(
        text,
        &ServiceId::new("svc"),
        "logs/svc.log",
        Timestamp::from_secs(1_700_000_000),
    )
}

fn lines(r: &LogRecord) -> (u64, usize) {
    (r.source.as_ref().map_or(0, |s| s.line), r.body.lines().count())
}

const JAVA: &str = "\
2024-05-14 10:32:07.412 ERROR [exec-7] c.e.OrderService - Order placement failed orderId=8812
org.springframework.web.client.ResourceAccessException: I/O error on POST request
\tat org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:885)
\tat com.example.PaymentsClient.authorize(PaymentsClient.java:64)
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)
\t... 10 common frames omitted
2024-05-14 10:32:07.415 INFO  [exec-7] c.e.CheckoutController - Checkout failed status=502
Exception in thread \"pool-2\" java.lang.IllegalStateException: closed
\tat com.example.Pool.take(Pool.java:41)
";

const PYTHON: &str = "\
2024-05-14 10:32:07,398 ERROR [payments.api] authorization failed order=8812
Traceback (most recent call last):
  File \"/app/payments/api.py\", line 141, in authorize
    result = gateway.authorize(order)
TimeoutError: timed out

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File \"/app/payments/gateway.py\", line 93, in authorize
payments.gateway.AcquirerUnavailable: acquirer timeout for order 8812
2024-05-14 10:32:07,401 INFO [payments.api] POST /v1/authorize order=8812 status=504
";

const GO: &str = "\
2024-05-14T10:32:06.201Z\tERROR\tapi/cart.go:74\tfailed to load cart\t{\"cart_id\": \"c-4419\"}
github.com/example/cart/internal/api.(*Handler).GetCart
\t/src/internal/api/cart.go:74
{\"level\":\"error\",\"ts\":1715682726.733,\"msg\":\"redis GET failed\",\"key\":\"cart:c-4420\"}
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x28 pc=0x8b1f3a]

goroutine 2214 [running]:
github.com/example/cart/internal/store.(*RedisStore).refreshTTL(0x0)
\t/src/internal/store/redis.go:118 +0x3a
2024-05-14T10:32:09.118Z\tINFO\tcmd/cart/main.go:48\tstarting cart service
";

const NODE: &str = "\
2024-05-14T10:32:07.530Z [frontend] error: checkout request failed for cart c-4411
AxiosError: Request failed with status code 502
    at settle (/app/node_modules/axios/dist/node/axios.cjs:1966:12)
    at async placeOrder (/app/src/routes/checkout.js:41:22)
2024-05-14T10:32:07.533Z [frontend] info: POST /checkout 502 6041ms
";

const DOTNET: &str = "\
2024-05-14 10:32:07.388 +00:00 [ERR] Authorization failed for order 8812
System.Net.Http.HttpRequestException: An error occurred while sending the request.
 ---> System.IO.IOException: Unable to read data from the transport connection.
   --- End of inner exception stack trace ---
   at System.Net.Http.HttpConnection.SendAsync(HttpRequestMessage request)
--- End of stack trace from previous location ---
2024-05-14 10:32:08.001 +00:00 [INF] HTTP POST /v1/authorize responded 504 in 6001.2 ms
";

const RUBY: &str = "\
F, [2024-05-14T10:32:13.710044 #12] FATAL -- : [7f3a9c2e] Faraday::TimeoutError (Net::ReadTimeout):
app/services/payment_gateway.rb:31:in `authorize'
/usr/local/bundle/gems/faraday-2.9.0/lib/faraday/rack_builder.rb:152:in `build_response'
W, [2024-05-14T10:32:14.002311 #12]  WARN -- : [sidekiq] retrying job CartExpiryJob
";

const PHP: &str = "\
[14-May-2024 10:32:07 UTC] PHP Fatal error:  Uncaught RedisException: read error on connection in /var/www/app/src/Cart/RedisCartStore.php:42
Stack trace:
#0 /var/www/app/src/Cart/RedisCartStore.php(42): Redis->get('cart:c-4411')
#1 {main}
  thrown in /var/www/app/src/Cart/RedisCartStore.php on line 42
[2024-05-14T10:32:07.655310+00:00] app.ERROR: Checkout failed, returning 502 {\"cart_id\":\"c-4411\"} []
";

#[test]
fn java_stack_traces_and_caused_by_join_their_record() {
    let r = parse(JAVA);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(lines(&r[0]), (1, 7));
    assert_eq!(r[0].severity, Severity::Error);
    assert!(r[0].body.starts_with("Order placement failed orderId=8812\n"));
    assert_eq!(lines(&r[1]), (8, 1));
    // A headerless crash report starts its own record and inherits the previous time.
    assert_eq!(lines(&r[2]), (9, 2));
    assert_eq!(r[2].severity, Severity::Fatal);
    assert_eq!(r[2].ts, r[1].ts);
}

#[test]
fn python_chained_tracebacks_join_their_record() {
    let r = parse(PYTHON);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(lines(&r[0]), (1, 11));
    assert!(r[0].body.ends_with("acquirer timeout for order 8812"));
    assert_eq!(r[0].ts, Timestamp::parse("2024-05-14T10:32:07.398Z").unwrap());
    assert_eq!(lines(&r[1]), (12, 1));
}

#[test]
fn go_frames_json_lines_and_panics_are_separated() {
    let r = parse(GO);
    assert_eq!(r.len(), 4, "{r:#?}");
    assert_eq!(lines(&r[0]), (1, 3));
    assert_eq!(r[1].body, "redis GET failed");
    assert_eq!(r[1].severity, Severity::Error);
    assert!((r[1].ts.as_nanos() - Timestamp::from_millis(1_715_682_726_733).as_nanos()).abs() < 1_000);
    assert_eq!(lines(&r[2]), (5, 6));
    assert_eq!(r[2].severity, Severity::Fatal);
    assert_eq!(lines(&r[3]), (11, 1));
}

#[test]
fn logfmt_and_json_records_carry_error_and_stack_fields() {
    let text = "level=error ts=2024-05-14T10:32:07.401Z msg=\"request failed\" err=\"context deadline exceeded\" traceId=0af7\n\
                2024-05-14 10:32:08.000 INFO  [main] c.e.OrderService - Retrying order=8812\n\
                {\"level\":50,\"msg\":\"checkout failed\",\"err\":{\"message\":\"502\",\"stack\":\"Error: 502\\n    at f (a.js:1:2)\"}}\n";
    let r = parse(text);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(
        (r[0].body.as_str(), r[0].severity),
        ("request failed", Severity::Error)
    );
    assert_eq!(
        r[0].attributes.get("error"),
        Some(&serde_json::json!("context deadline exceeded"))
    );
    assert_eq!(r[0].trace_id.as_deref(), Some("0af7"));
    assert_eq!(r[1].body, "Retrying order=8812");
    assert_eq!(
        r[2].attributes.get("stack"),
        Some(&serde_json::json!("Error: 502\n    at f (a.js:1:2)"))
    );
}

#[test]
fn node_dotnet_ruby_php_traces_join_their_record() {
    for (text, first, expect) in [
        (NODE, "checkout request failed for cart c-4411", vec![(1, 4), (5, 1)]),
        (DOTNET, "Authorization failed for order 8812", vec![(1, 6), (7, 1)]),
        (RUBY, "[7f3a9c2e] Faraday::TimeoutError (Net::ReadTimeout):", vec![(1, 3), (4, 1)]),
        (PHP, "Uncaught RedisException: read error on connection in /var/www/app/src/Cart/RedisCartStore.php:42", vec![(1, 5), (6, 1)]),
    ] {
        let r = parse(text);
        let got: Vec<(u64, usize)> = r.iter().map(lines).collect();
        assert_eq!(got, expect, "{text}");
        assert_eq!(r[0].body.lines().next(), Some(first), "{text}");
        assert!(r[0].severity >= Severity::Error, "{text}");
    }
}

#[test]
fn lines_before_any_time_use_the_default() {
    let r = parse("starting up\n  detail\n2024-05-14T10:00:00Z INFO ready\n");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].ts, Timestamp::from_secs(1_700_000_000));
    assert_eq!(r[0].body, "starting up\n  detail");
    assert_eq!(r[1].source.as_ref().unwrap().file, "logs/svc.log");
}

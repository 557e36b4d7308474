// `resource(...)` with `type`, `class`, `id`, `params` of every value shape, and
// `metadata(annotations(...), ...)`; variables reading resource outputs.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(
    name = "resources",
    variables(
        DATABASE_URL = "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.database}",
        CACHE = "${resources.cache.host}",
    ),
    resource(
        db,
        type = "postgres",
        class = "large",
        id = "shared.main-db",
        params(
            size = 10,
            ratio = 0.75,
            offset = -3,
            delta = -1.25,
            enabled = true,
            archived = false,
            extensions = ["pgcrypto", "uuid-ossp"],
            mixed = [1, "two", false, -4, 2.5, ["nested", "list"]],
            empty = [],
            backup(schedule = "daily", retention(days = 7, "keep-last" = 3)),
            "quoted key" = "value",
        ),
        metadata(annotations("example.com/owner" = "storage", team = "db"), tier = "gold", labels(env = "prod")),
    ),
    resource(cache, type = "redis"),
    resource(config, type = "environment", params(prefix = "APP_")),
)]
fn main() {
    let w = check_agreement(file!());
    let db = &w["resources"]["db"];
    assert_eq!(db["type"], "postgres");
    assert_eq!(db["class"], "large");
    assert_eq!(db["id"], "shared.main-db");
    let p = &db["params"];
    assert_eq!(p["size"], 10);
    assert_eq!(p["ratio"], 0.75);
    assert_eq!(p["offset"], -3);
    assert_eq!(p["delta"], -1.25);
    assert_eq!(p["enabled"], true);
    assert_eq!(p["mixed"], serde_json::json!([1, "two", false, -4, 2.5, ["nested", "list"]]));
    assert_eq!(p["empty"], serde_json::json!([]));
    assert_eq!(p["backup"]["retention"]["keep-last"], 3);
    assert_eq!(p["quoted key"], "value");
    assert_eq!(db["metadata"]["annotations"]["example.com/owner"], "storage");
    assert_eq!(db["metadata"]["labels"]["env"], "prod");
    assert_eq!(w["resources"]["cache"]["type"], "redis");
}

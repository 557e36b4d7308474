use score_fly_macros::score_workload;

#[score_workload(name = "web")]
fn serve() {}

fn main() {
    serve();
}

// After an error, `main` is still emitted unchanged: besides the attribute's error there is
// no "main function not found", and the body is still type-checked (its own mistake below is
// reported too, on the right line).
use score_fly_macros::score_workload;

#[score_workload(name = "web", port(web, port = 0))]
fn main() -> Result<(), String> {
    let port: u16 = "8080";
    println!("{port}");
    Ok(())
}

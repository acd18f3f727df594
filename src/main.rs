fn main() -> std::process::ExitCode {
    rel04d::cli::main()
}

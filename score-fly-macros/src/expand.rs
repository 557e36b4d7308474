//! Checks the item, loads the workload, and emits `main` unchanged plus the embedded JSON.

use std::path::PathBuf;

use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;
use score_fly_core::attr::{self, Declared};
use score_fly_core::spec;

/// The whole expansion. Errors are emitted next to the unchanged item.
pub(crate) fn expand(args: TokenStream, item: &TokenStream) -> TokenStream {
    match workload_json(args, item) {
        Ok((json, tracked)) => {
            let bytes = attr::embedded(&json);
            let len = bytes.len();
            let literal = Literal::byte_string(&bytes);
            let track = tracked.map(|path| {
                let path = path.to_string_lossy().into_owned();
                quote! { const _: &[u8] = include_bytes!(#path); }
            });
            quote! {
                #item
                #[doc(hidden)]
                #[used]
                static __SCORE_FLY_WORKLOAD: [u8; #len] = *#literal;
                #track
            }
        }
        Err(error) => {
            let error = error.to_compile_error();
            quote! { #error #item }
        }
    }
}

/// The workload's JSON and, for a Score file, its path (so editing it rebuilds the crate).
fn workload_json(args: TokenStream, item: &TokenStream) -> Result<(String, Option<PathBuf>), syn::Error> {
    let item_error = check_item(item).err();
    let declared = attr::parse(args, Span::call_site());
    let result = match declared {
        Err(e) => Err(e),
        Ok(Declared::Inline(inline)) => attr::load_inline(inline).map(|loaded| (loaded.workload, None)),
        Ok(Declared::File { path, span }) => load_file(&path, span).map(|(w, p)| (w, Some(p))),
    };
    match (result, item_error) {
        (Ok(_), Some(e)) | (Err(e), None) => Err(e),
        (Err(mut e), Some(item_e)) => {
            e.combine(item_e);
            Err(e)
        }
        (Ok((workload, tracked)), None) => {
            let json =
                serde_json::to_string(&workload).map_err(|e| syn::Error::new(Span::call_site(), e.to_string()))?;
            Ok((json, tracked))
        }
    }
}

/// A function item up to its body, which is kept as tokens: `main` is emitted unchanged, so
/// its body needs no parsing (which would recurse as deep as the body nests).
struct FnHead {
    sig: syn::Signature,
}

impl syn::parse::Parse for FnHead {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Visibility>()?;
        let sig = input.parse()?;
        let body: proc_macro2::Group = input.parse()?;
        if body.delimiter() != proc_macro2::Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the function body"));
        }
        Ok(FnHead { sig })
    }
}

/// The attribute belongs on `fn main` of a binary target.
fn check_item(item: &TokenStream) -> Result<(), syn::Error> {
    let function: FnHead = syn::parse2(item.clone()).map_err(|_| {
        // Point at the item's keyword (`struct`, `impl`...) when there is one.
        let (span, what) = match syn::parse2::<syn::Item>(item.clone()) {
            Ok(syn::Item::Struct(s)) => (s.struct_token.span, "a struct"),
            Ok(syn::Item::Enum(e)) => (e.enum_token.span, "an enum"),
            Ok(syn::Item::Impl(i)) => (i.impl_token.span, "an impl block"),
            Ok(syn::Item::Mod(m)) => (m.mod_token.span, "a module"),
            Ok(syn::Item::Const(c)) => (c.const_token.span, "a const"),
            Ok(syn::Item::Static(s)) => (s.static_token.span, "a static"),
            _ => (Span::call_site(), "not a function"),
        };
        syn::Error::new(span, format!("#[score_workload] goes on `fn main` of a binary; this is {what}"))
    })?;
    if function.sig.ident != "main" {
        return Err(syn::Error::new(
            function.sig.ident.span(),
            format!("#[score_workload] goes on `fn main` of a binary, not on `fn {}`", function.sig.ident),
        ));
    }
    if std::env::var_os("CARGO_BIN_NAME").is_none() && std::env::var_os("CARGO_CRATE_NAME").is_some() {
        let krate = std::env::var("CARGO_CRATE_NAME").unwrap_or_default();
        return Err(syn::Error::new(
            function.sig.ident.span(),
            format!(
                "#[score_workload] declares the workload of a binary, but `{krate}` is not being built as one; put it on the `main` of a `[[bin]]` target (src/main.rs)"
            ),
        ));
    }
    Ok(())
}

/// Reads and validates a Score file relative to the crate's `Cargo.toml`.
fn load_file(path: &str, span: Span) -> Result<(spec::Workload, PathBuf), syn::Error> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let full = manifest_dir.join(path);
    // At most limits::MAX_DOCUMENT_BYTES: a huge (or endless) file stops there.
    let text = score_fly_core::input::read_document(&full).map_err(|e| {
        let e = match e {
            score_fly_core::input::ReadError::Io { source, .. } => source.to_string(),
            other => other.to_string(),
        };
        syn::Error::new(
            span,
            format!(
                "cannot read the Score file {}: {e}; #[score_workload] reads score.yaml beside Cargo.toml, or the file given with file = \"...\"",
                full.display()
            ),
        )
    })?;
    let loaded = spec::load_str(path, &text).map_err(|e| {
        let mut errors = e.diagnostics.iter().map(|d| {
            let at = d.location.map(|l| format!("{}: ", e.sources.describe(l))).unwrap_or_default();
            syn::Error::new(span, format!("{at}{d}"))
        });
        let mut first = errors.next().unwrap_or_else(|| syn::Error::new(span, e.to_string()));
        errors.for_each(|e| first.combine(e));
        first
    })?;
    Ok((loaded.workload, full))
}

"""The audit explorer in a real browser: Playwright drives Debian's headless Chromium against the
gateway on loopback (CSP on, no eval). Every page is opened signed in as the regulator and kept as
a screenshot in test-artifacts/: job, print sheet, member, source, sources, payouts, search,
unknown id and the phone layout. The evidence bundle is downloaded from a job page over a sealed
embedded chain and verified offline."""

from __future__ import annotations

import time
from pathlib import Path

from eth_utils import keccak
from playwright.sync_api import Browser, Page, expect

from compute.jobs.service import ResultStore
from ledger.audit.bundle import load_bundle, verify
from ledger.deployment import Deployment
from ledger.member import MemberLedger
from ledger.protocol import AttestationDomain, JobKind, kinds_mask, privacy_hash
from ledger.units import parse_amount, parse_delta, parse_epsilon
from tests.ledger.privacy_world import job_attestation

from .conftest import Gateway, SealedGateway, screenshot, signed_in
from .scenario import WINDOW, Consortium, result_bundle

PHONE = 390


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        f"[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > {PHONE} + 1)"
        ".slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))"
    )
    assert width <= PHONE, f"{page.url} is {width}px wide at {PHONE}px: {wide}"


def test_finished_job_page_says_who_got_how_much_and_why(gateway: Gateway, browser: Browser) -> None:
    people, job_id = gateway.consortium.people, gateway.consortium.job_id
    page = signed_in(gateway, browser)
    page.click(f"#jobs a[href='/explorer/jobs/{job_id}']")
    expect(page.locator("#trail-verdict")).to_contain_text("Every step verified")

    steps = page.locator("#timeline tr.step")
    assert steps.count() >= 12
    assert set(steps.evaluate_all("rows => rows.map(r => r.dataset.verified)")) == {"yes"}
    credited = page.locator("#timeline tr.step[data-event='PaymentCredited']")
    assert credited.count() == 4
    first_credit = credited.first.inner_text()
    assert "payee" in first_credit and people["card"].address in first_credit and " CST" in first_credit
    consent = page.locator("#timeline tr.step[data-event='ConsentGiven']").all_inner_texts()
    assert any("explicit" in c for c in consent) and any("automatic" in c for c in consent)
    attestation = page.locator("#timeline tr.step[data-event='AttestationRecorded']").first.inner_text()
    assert "signer" in attestation and "submitter" in attestation
    assert "UTC" in page.locator("#timeline tr.step time").first.inner_text()

    assert page.locator("#terms").inner_text().count("0x") >= 6  # parameter, inputs, result, transcript, ... hashes
    assert "1,000.000000000000000007 CST" in page.inner_text("#terms")  # the budget, exact
    fixed = page.inner_text("#fixed-terms")  # the job's own terms, whatever governance set later
    assert "500 bps" in fixed and "60 s (1 min)" in fixed and "86400 s (1 d)" in fixed and "1209600 s (14 d)" in fixed
    cap = page.inner_text("#price-cap")
    assert "1,000.000000000000000007 CST" in cap and "3 CST ✓ within it" in cap
    lines = page.locator("#credits tr.credit")
    assert lines.count() == 4 and set(lines.evaluate_all("r => r.map(x => x.dataset.matches)")) == {"yes"}
    assert "✓ Every credit is what the payout rule implies" in page.inner_text("#settlement")
    assert page.locator("#contribution-chart rect").count() == 2
    assert "75.00 %" in page.inner_text("#contributions")  # weights 3 : 1
    assert "Verified against node" in page.inner_text("#verified-at")
    assert page.get_attribute("#bundle", "href") == f"/explorer/jobs/{job_id}/bundle"
    screenshot(page, "explorer-job.png")

    page.emulate_media(media="print")
    assert not page.locator("header").is_visible() and page.locator("p.print-only").first.is_visible()
    printed = page.locator("#timeline tr.step").first.locator("ul.checks.print-only")
    assert printed.is_visible() and "log in receipt" in printed.inner_text()  # every check on paper
    screenshot(page, "explorer-job-print.png")
    page.close()


def test_step_proof_opens_with_its_checks(gateway: Gateway, browser: Browser) -> None:
    page = signed_in(gateway, browser)
    page.goto(f"{gateway.url}/explorer/jobs/{gateway.consortium.job_id}")
    first = page.locator("details.proof").first
    first.locator("summary").click()
    expect(first.locator("pre")).to_contain_text("block_hash")
    assert "log in receipt" in first.inner_text()
    page.close()


def test_member_page_shows_roles_jobs_credits_and_sources(gateway: Gateway, browser: Browser) -> None:
    card = gateway.consortium.people["card"].address
    page = signed_in(gateway, browser)
    page.goto(f"{gateway.url}/explorer/members/{card}")
    assert page.inner_text("h1") == "CardNet"
    assert "PROVIDER" in page.inner_text("#roles")
    assert f"#{gateway.consortium.job_id}" in page.inner_text("#member-jobs")
    assert "#0" in page.inner_text("#member-sources")
    assert "Withdrawn" in page.inner_text("dl.facts") and "CST" in page.inner_text("dl.facts")
    screenshot(page, "explorer-member.png")
    page.close()


def test_source_page_shows_versions_uses_consent_and_payment(gateway: Gateway, browser: Browser) -> None:
    page = signed_in(gateway, browser)
    page.goto(f"{gateway.url}/explorer/sources/1")
    uses = page.inner_text("#uses")
    assert f"#{gateway.consortium.job_id}" in uses and "automatic" in uses and "CST" in uses
    assert page.locator("#versions tbody tr").count() >= 1
    screenshot(page, "explorer-source.png")
    page.goto(f"{gateway.url}/explorer/sources")
    assert page.locator("#sources tbody tr").count() >= 2
    screenshot(page, "explorer-sources.png")
    page.close()


def test_payouts_chart_and_exact_table(gateway: Gateway, browser: Browser) -> None:
    page = signed_in(gateway, browser)
    page.goto(gateway.url + "/explorer/payouts")
    assert page.locator("#payout-chart rect").count() >= 3
    assert " CST" in page.inner_text("#payouts")
    screenshot(page, "explorer-payouts.png")
    page.close()


def test_search_finds_a_job_by_transaction_hash_a_member_and_a_source(gateway: Gateway, browser: Browser) -> None:
    job_id = gateway.consortium.job_id
    trail = gateway.client("regulator").get(f"/audit/jobs/{job_id}").json()
    tx = trail["steps"][-1]["tx_hash"]
    page = signed_in(gateway, browser)
    page.fill("header .search input", tx)
    page.press("header .search input", "Enter")
    page.wait_for_url(f"**/explorer/jobs/{job_id}**")
    page.goto(f"{gateway.url}/explorer/search?q=source 1")
    assert page.url.endswith("/explorer/sources/1")
    page.goto(f"{gateway.url}/explorer/search?q={gateway.address('hospital').lower()}")
    assert page.inner_text("h1") == "Hospital"
    page.goto(f"{gateway.url}/explorer/search?q=0")
    assert page.locator("#hits li").count() == 2  # job #0 and data source #0
    screenshot(page, "explorer-search.png")
    page.close()


def test_unknown_ids_get_a_page_not_json(gateway: Gateway, browser: Browser) -> None:
    page = signed_in(gateway, browser)
    for path in ("/explorer/jobs/9999", "/explorer/sources/9999", "/explorer/members/0x" + "12" * 20):
        response = page.goto(gateway.url + path)
        assert response is not None and response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Not found" in page.inner_text("h1")
    page.goto(gateway.url + "/explorer/jobs/9999")
    screenshot(page, "explorer-unknown-job.png")
    page.close()


def test_phone_width_has_no_horizontal_overflow(gateway: Gateway, browser: Browser) -> None:
    page = signed_in(gateway, browser, width=PHONE)
    job_id = gateway.consortium.job_id
    for path in ("/explorer", "/explorer/sources", "/explorer/payouts", f"/explorer/members/{gateway.address('card')}"):
        page.goto(gateway.url + path)
        _no_horizontal_overflow(page)
    page.goto(f"{gateway.url}/explorer/jobs/{job_id}")
    _no_horizontal_overflow(page)
    screenshot(page, "explorer-job-mobile.png")
    screenshot(page, "explorer-job-mobile-first-screen.png", full_page=False)
    page.locator("#settlement").scroll_into_view_if_needed()
    screenshot(page, "explorer-job-mobile-settlement.png", full_page=False)
    page.close()


def test_job_list_filters_pages_and_shows_verification(gateway: Gateway, browser: Browser) -> None:
    page = signed_in(gateway, browser)
    page.goto(gateway.url + "/explorer?status=Finalized")
    rows = page.locator("#jobs tbody tr")
    assert rows.count() >= 1
    assert set(rows.evaluate_all("r => r.map(x => x.dataset.verified)")) == {"yes"}
    assert all("Finalized" in s for s in page.locator("#jobs td[data-label=Status]").all_inner_texts())
    page.goto(gateway.url + "/explorer?kind=PSI")
    assert page.locator("#jobs").count() == 0 and "No job matches these filters" in page.inner_text("main")
    screenshot(page, "explorer-jobs-filtered.png")
    page.close()


def test_evidence_bundle_downloads_from_the_page_and_verifies_offline(
    sealed_gateway: SealedGateway, browser: Browser, tmp_path: Path
) -> None:
    job = sealed_gateway.job
    page = signed_in(sealed_gateway, browser, "bureau")  # the dev consortium's auditor
    page.goto(f"{sealed_gateway.url}/explorer/jobs/{job.job_id}")
    expect(page.locator("#trail-verdict")).to_contain_text("Every step verified")
    assert "sealed by 1 of 1" in page.inner_text("#verified-at")
    assert "✓ within it" in page.inner_text("#price-cap")  # the embedded node serves the openJob transaction too
    with page.expect_download() as download:
        page.click("#bundle")
    assert download.value.suggested_filename == f"custos-job-{job.job_id}-evidence.json"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    page.close()

    pinned = Deployment.load(job.chain / "deployment.json").genesis
    assert pinned is not None
    result = verify(load_bundle(saved), bytes.fromhex(str(pinned["hash"])[2:]))  # no node: the file alone
    assert result.report.ok, result.report.failures
    assert (result.trail.job_id, result.trail.status) == (job.job_id, "Finalized")
    names = {c.name for c in result.report.checks}
    assert {"genesis pinned", "seal quorum", "block roots", "attestation signature", "payout"} <= names


def test_utility_table_shows_with_a_check_that_the_weights_follow_from_it(gateway: Gateway, browser: Browser) -> None:
    job_id = gateway.consortium.job_id
    workspace = gateway.services.settings.workspace
    assert workspace is not None
    store, bundle = ResultStore(workspace), result_bundle(job_id)
    kept = store.save(job_id, bundle)  # what the bank's runner keeps of the job
    page = signed_in(gateway, browser)  # the regulator: an auditor may read result bundles
    try:
        page.goto(f"{gateway.url}/explorer/jobs/{job_id}")
        assert "✓ The committed weights follow from this table" in page.inner_text("#utility-verdict")
        assert page.locator("#utility-table tbody tr").count() == 4  # every coalition of the two sources
        checks = page.locator("#utility-checks li")
        assert checks.count() == 6 and set(checks.evaluate_all("l => l.map(x => x.className)")) == {"check ok"}
        assert "[750000, 250000]" in page.inner_text("#utility-checks")
        screenshot(page, "explorer-utility-table.png")

        # The guest's software reports a better coalition for its own source than it measured.
        bundle["contribution"]["utility_table"]["entries"][1][1] = 0.95
        store.save(job_id, bundle)
        page.reload()
        verdict = page.inner_text("#utility-verdict")
        assert (
            verdict.startswith("✗") and "utility table hash" in verdict and "weights follow from the table" in verdict
        )
        assert "the rule gives [" in verdict
    finally:
        kept.unlink()
        page.close()


def test_a_sources_privacy_budget_shows_as_a_bar_with_its_history_and_the_job_shows_its_epsilon(
    gateway: Gateway, browser: Browser
) -> None:
    consortium = gateway.consortium
    spec = {"schema_hash": "0x" + "ab" * 32, "commitment": "0x" + "cd" * 32, "row_count": 900}
    spec |= {"metadata_uri": "s3://bank/dp", "price_per_use": 3, "allowed_kinds": kinds_mask((JobKind.FEDAVG,))}
    source_id = gateway.client("bank").post("/sources", json=spec).json()["source_id"]
    budget = gateway.client("bank").put(f"/sources/{source_id}/budget", json={"epsilon": "8", "delta": "1e-6"})
    assert budget.status_code == 200, budget.text
    rpc = consortium.w3.provider.endpoint_uri  # type: ignore[attr-defined]  # an HTTPProvider in this fixture
    bank = MemberLedger.open(rpc, consortium.deployment, consortium.people["bank"])
    job_id = _open_dp(consortium, bank, source_id, "2.5")
    gateway.clock.value += 2  # the gateway's index syncs again

    page = signed_in(gateway, browser)
    figures, widths = _budget_bar(page, f"{gateway.url}/explorer/sources/{source_id}")
    assert figures.startswith("ε 8 in all: 0 spent, 2.5 reserved by open jobs, 5.5 remaining"), figures
    assert widths == ["0.0", "187.5", "412.5"]  # of 600: spent, reserved, remaining
    steps = page.locator("#budget-steps tbody tr")
    assert [steps.nth(i).get_attribute("data-change") for i in range(steps.count())] == ["set", "reserved"]
    assert steps.nth(1).locator("a").inner_text() == f"#{job_id}"
    assert "5.5" in steps.nth(1).inner_text()  # remaining after the reservation
    reserved = page.locator("tr.step[data-event='PrivacyBudgetReserved']")
    assert "ε\n2.5" in reserved.inner_text() and "δ\n1e-7" in reserved.inner_text()  # not micro-ε units
    screenshot(page, "explorer-source-budget.png")

    page.goto(f"{gateway.url}/explorer/jobs/{job_id}")
    expect(page.locator("#inputs td.epsilon")).to_have_text("2.5 reserved")

    # The job runs: ε 2 of the 2.5 reserved is spent and attested, and it finalises (the 0.5 left is released).
    arbiter = MemberLedger.open(rpc, consortium.deployment, consortium.people["arbiter"])
    _finalise_with_spend(consortium, bank, arbiter, job_id, [parse_epsilon("2")], parse_delta("1e-7"))
    # A second job reserves ε 1 and is aborted before any result: all of it is released.
    aborted = _open_dp(consortium, bank, source_id, "1")
    arbiter.jobs.abort(aborted, b"aborted by the arbiter".ljust(32, b"\0"))
    gateway.clock.value += 2

    figures, widths = _budget_bar(page, f"{gateway.url}/explorer/sources/{source_id}")
    assert figures.startswith("ε 8 in all: 2 spent, 0 reserved by open jobs, 6 remaining"), figures
    assert widths == ["150.0", "0.0", "450.0"]
    changes = steps.evaluate_all("rows => rows.map(r => r.dataset.change)")
    assert changes == ["set", "reserved", "spent", "released", "reserved", "released"]
    assert [steps.nth(i).locator("a").inner_text() for i in range(2, 6)] == [f"#{job_id}"] * 2 + [f"#{aborted}"] * 2
    # ε of the step, then spent, reserved and remaining after it: the spend moves the whole reservation out.
    figures_after = [steps.nth(i).locator("td").all_inner_texts()[-4:] for i in range(2, 6)]
    assert figures_after == [
        ["2", "2", "0.5", "5.5"],
        ["0.5", "2", "0", "6"],
        ["1", "2", "1", "5"],
        ["1", "2", "0", "6"],
    ]
    spent_event = page.locator("tr.step[data-event='PrivacyBudgetSpent']")
    assert "ε\n2" in spent_event.inner_text() and "δ\n1e-7" in spent_event.inner_text()
    assert page.locator("tr.step[data-event='PrivacyBudgetReleased']").count() == 2
    screenshot(page, "explorer-source-budget-spent.png")

    page.goto(f"{gateway.url}/explorer/jobs/{job_id}")
    expect(page.locator("#inputs td.epsilon")).to_have_text("2 spent")
    page.goto(f"{gateway.url}/explorer/jobs/{aborted}")
    expect(page.locator("#inputs td.epsilon")).to_have_text("1 reserved, released")
    page.goto(f"{gateway.url}/explorer/sources/0")  # a source without a budget says so
    expect(page.locator("#budget-none")).to_have_text("not tracked on chain for this source")
    page.close()


def _budget_bar(page: Page, url: str) -> tuple[str, list[str]]:
    """A source page's budget figures line and its bar's widths (spent, reserved, remaining, of 600)."""
    page.goto(url)
    widths = page.locator("#budget-bar rect").evaluate_all("rects => rects.map(r => r.getAttribute('width'))")
    return page.inner_text("#budget-figures"), widths


def _open_dp(consortium: Consortium, bank: MemberLedger, source_id: int, epsilon: str) -> int:
    """The bank opens a DP FedAvg job on `source_id` (the arbiter computes), reserving ε `epsilon` and δ 1e-7."""
    bank.token.approve(consortium.deployment.settlement, parse_amount(10))
    return bank.jobs.open_job(
        JobKind.FEDAVG,
        [source_id],
        keccak(text=f"dp params {bank.jobs.job_count()}"),
        [consortium.people["arbiter"].address],
        parse_amount(10),
        int(time.time()) + 3600,
        epsilons=[parse_epsilon(epsilon)],
        delta=parse_delta("1e-7"),
    ).job_id


def _finalise_with_spend(
    consortium: Consortium, bank: MemberLedger, arbiter: MemberLedger, job_id: int, spent: list[int], delta: int
) -> None:
    """The bank (the source's owner) consents, the arbiter commits `spent` micro-ε, both attest, the window passes."""
    source_ids = bank.jobs.job_sources(job_id)[0]
    for source_id in source_ids:
        bank.jobs.consent(job_id, source_id)
    arbiter.jobs.commit_result(
        job_id, keccak(text="dp model"), keccak(text="dp transcript"), [1] * len(source_ids), bytes(32), spent
    )
    attestation = job_attestation(bank.jobs, job_id, privacy_hash(spent, delta))
    domain = AttestationDomain(consortium.deployment.chain_id, consortium.deployment.job_ledger)
    for who in ("bank", "arbiter"):
        signer = consortium.people[who]
        bank.jobs.attest(job_id, signer.address, attestation.sign(bytes(signer.key), domain))
    consortium.w3.provider.make_request("evm_increaseTime", [WINDOW + 1])  # type: ignore[arg-type]  # evm_* methods are not in web3's RPC enum
    consortium.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]  # as above
    bank.jobs.finalize(job_id)

"""When each Lambda-managed runtime is (or was) deprecated.

Source: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (the "Supported runtimes"
and "Deprecated runtimes" tables, column "Deprecation date"), as read on 2026-11-28. Keep this table
in step with that page; a runtime missing here is reported as unknown, never as deprecated.
"""

from datetime import date

DEPRECATION_DATES: dict[str, date] = {
    # Node.js
    "nodejs24.x": date(2028, 4, 30),
    "nodejs22.x": date(2027, 4, 30),
    "nodejs20.x": date(2026, 4, 30),
    "nodejs18.x": date(2025, 9, 1),
    "nodejs16.x": date(2024, 6, 12),
    "nodejs14.x": date(2023, 12, 4),
    "nodejs12.x": date(2023, 3, 31),
    "nodejs10.x": date(2021, 7, 30),
    # Python
    "python3.14": date(2029, 6, 30),
    "python3.13": date(2029, 6, 30),
    "python3.12": date(2028, 10, 31),
    "python3.11": date(2027, 6, 30),
    "python3.10": date(2026, 10, 31),
    "python3.9": date(2025, 12, 15),
    "python3.8": date(2024, 10, 14),
    "python3.7": date(2023, 12, 4),
    "python3.6": date(2022, 7, 18),
    "python2.7": date(2021, 7, 15),
    # Java
    "java25": date(2029, 6, 30),
    "java21": date(2029, 6, 30),
    "java17": date(2029, 6, 30),
    "java11": date(2027, 6, 30),
    "java8.al2": date(2027, 6, 30),
    "java8": date(2024, 1, 8),
    # .NET
    "dotnet10": date(2028, 11, 14),
    "dotnet8": date(2026, 11, 10),
    "dotnet7": date(2024, 5, 14),
    "dotnet6": date(2024, 12, 20),
    "dotnetcore3.1": date(2023, 4, 3),
    # Ruby
    "ruby3.4": date(2028, 3, 31),
    "ruby3.3": date(2027, 3, 31),
    "ruby3.2": date(2026, 3, 31),
    "ruby2.7": date(2023, 12, 7),
    # OS-only and Go
    "provided.al2023": date(2029, 6, 30),
    "provided.al2": date(2026, 7, 31),
    "provided": date(2024, 1, 8),
    "go1.x": date(2024, 1, 8),
}


def deprecation_date(runtime: str) -> date | None:
    return DEPRECATION_DATES.get(runtime)

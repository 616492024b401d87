"""The demo Government: ministries and accounts (DESIGN.md §5.1).

The ministries and ministerial agencies are the real ones (after the 2025 reorganisation); every
person is fictional. 17 ministries and agencies plus the Prime Minister make 27 members only with
9 Deputy Prime Ministers, so the cast has 9.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACCOUNTS", "DEMO_PASSWORD", "MEMBERS", "MINISTRIES", "Account", "Body", "account", "email_for"]

DEMO_PASSWORD = "ecabinet-demo"  # published in the README: demo accounts only
EMAIL_DOMAIN = "demo.ecabinet.example"  # RFC 2606: never delivered


@dataclass(frozen=True)
class Body:
    code: str
    name: str
    name_en: str
    short_name: str


MINISTRIES: tuple[Body, ...] = (
    Body("chinh-phu", "Chính phủ", "Government of Viet Nam", "CP"),
    Body("bqp", "Bộ Quốc phòng", "Ministry of National Defence", "BQP"),
    Body("bca", "Bộ Công an", "Ministry of Public Security", "BCA"),
    Body("bng", "Bộ Ngoại giao", "Ministry of Foreign Affairs", "BNG"),
    Body("bnv", "Bộ Nội vụ", "Ministry of Home Affairs", "BNV"),
    Body("btp", "Bộ Tư pháp", "Ministry of Justice", "BTP"),
    Body("btc", "Bộ Tài chính", "Ministry of Finance", "BTC"),
    Body("bct", "Bộ Công Thương", "Ministry of Industry and Trade", "BCT"),
    Body("bnnmt", "Bộ Nông nghiệp và Môi trường", "Ministry of Agriculture and Environment", "BNNMT"),
    Body("bxd", "Bộ Xây dựng", "Ministry of Construction", "BXD"),
    Body("bvhttdl", "Bộ Văn hóa, Thể thao và Du lịch", "Ministry of Culture, Sports and Tourism", "BVHTTDL"),
    Body("bkhcn", "Bộ Khoa học và Công nghệ", "Ministry of Science and Technology", "BKHCN"),
    Body("bgddt", "Bộ Giáo dục và Đào tạo", "Ministry of Education and Training", "BGDĐT"),
    Body("byt", "Bộ Y tế", "Ministry of Health", "BYT"),
    Body("bdttg", "Bộ Dân tộc và Tôn giáo", "Ministry of Ethnic and Religious Affairs", "BDTTG"),
    Body("nhnn", "Ngân hàng Nhà nước Việt Nam", "State Bank of Viet Nam", "NHNN"),
    Body("ttcp", "Thanh tra Chính phủ", "Government Inspectorate", "TTCP"),
    Body("vpcp", "Văn phòng Chính phủ", "Office of the Government", "VPCP"),
    Body("ubnd-hn", "Ủy ban nhân dân Thành phố Hà Nội", "Hanoi People's Committee", "UBND TP Hà Nội"),
    Body("cvtlt", "Cục Văn thư và Lưu trữ nhà nước", "State Records and Archives Department", "Cục VTLTNN"),
)


@dataclass(frozen=True)
class Account:
    username: str
    full_name: str
    position: str
    ministry: str  # Body.code
    is_secretariat: bool = False
    is_archivist: bool = False
    is_superuser: bool = False

    @property
    def is_member(self) -> bool:
        """A member of the Government (asked for written opinions): the Prime Minister and member01…26."""
        return self.username == "pm" or self.username.startswith("member")


_DEPUTY = "Phó Thủ tướng Chính phủ"

ACCOUNTS: tuple[Account, ...] = (
    Account("pm", "Trần Quốc Vinh", "Thủ tướng Chính phủ", "chinh-phu"),
    Account("member01", "Lê Minh Hoàng", "Phó Thủ tướng Thường trực Chính phủ", "chinh-phu"),
    Account("member02", "Nguyễn Thị Thanh Hương", _DEPUTY, "chinh-phu"),
    Account("member03", "Phạm Đức Thắng", _DEPUTY, "chinh-phu"),
    Account("member04", "Võ Văn Tùng", _DEPUTY, "chinh-phu"),
    Account("member05", "Đỗ Quang Hải", _DEPUTY, "chinh-phu"),
    Account("member06", "Hoàng Thị Mai Anh", _DEPUTY, "chinh-phu"),
    Account("member07", "Bùi Trọng Nghĩa", _DEPUTY, "chinh-phu"),
    Account("member08", "Đặng Hữu Phước", _DEPUTY, "chinh-phu"),
    Account("member09", "Ngô Thanh Bình", _DEPUTY, "chinh-phu"),
    Account("member10", "Khúc Văn Cường", "Bộ trưởng Bộ Quốc phòng", "bqp"),
    Account("member11", "Lương Hữu Khải", "Bộ trưởng Bộ Công an", "bca"),
    Account("member12", "Vũ Hồng Nhung", "Bộ trưởng Bộ Ngoại giao", "bng"),
    Account("member13", "Trịnh Xuân Lộc", "Bộ trưởng Bộ Nội vụ", "bnv"),
    Account("member14", "Hà Minh Châu", "Bộ trưởng Bộ Tư pháp", "btp"),
    Account("member15", "Đinh Quốc Trung", "Bộ trưởng Bộ Tài chính", "btc"),
    Account("member16", "Tạ Văn Dũng", "Bộ trưởng Bộ Công Thương", "bct"),
    Account("member17", "Lâm Thị Ngọc Lan", "Bộ trưởng Bộ Nông nghiệp và Môi trường", "bnnmt"),
    Account("member18", "Mạc Đình Khôi", "Bộ trưởng Bộ Xây dựng", "bxd"),
    Account("member19", "Kiều Thu Trang", "Bộ trưởng Bộ Văn hóa, Thể thao và Du lịch", "bvhttdl"),
    Account("member20", "Quách Minh Tuấn", "Bộ trưởng Bộ Khoa học và Công nghệ", "bkhcn"),
    Account("member21", "Dương Thị Hồng Vân", "Bộ trưởng Bộ Giáo dục và Đào tạo", "bgddt"),
    Account("member22", "Cao Thị Phương Thảo", "Bộ trưởng Bộ Y tế", "byt"),
    Account("member23", "Nông Văn Thành", "Bộ trưởng, Chủ nhiệm Bộ Dân tộc và Tôn giáo", "bdttg"),
    Account("member24", "Phùng Thị Kim Oanh", "Thống đốc Ngân hàng Nhà nước Việt Nam", "nhnn"),
    Account("member25", "Lưu Văn Hiếu", "Tổng Thanh tra Chính phủ", "ttcp"),
    Account("member26", "Chu Đức Toàn", "Bộ trưởng, Chủ nhiệm Văn phòng Chính phủ", "vpcp"),
    Account("secretary", "Nguyễn Thu Hà", "Vụ trưởng Vụ Tổng hợp, Văn phòng Chính phủ", "vpcp", is_secretariat=True),
    Account("archivist", "Trương Thị Lan Phương", "Lưu trữ viên chính, Cục Văn thư và Lưu trữ nhà nước", "cvtlt",
            is_archivist=True),
    Account("guest", "Lã Văn Thịnh", "Chủ tịch Ủy ban nhân dân Thành phố Hà Nội", "ubnd-hn"),
    Account("outsider", "Mai Xuân Trường", "Chuyên viên, Bộ Tư pháp", "btp"),
    Account("admin", "Đoàn Minh Quân", "Quản trị hệ thống, Trung tâm Thông tin, Văn phòng Chính phủ", "vpcp",
            is_superuser=True),
)

MEMBERS: tuple[str, ...] = tuple(f"member{n:02d}" for n in range(1, 27))


def account(username: str) -> Account:
    return next(a for a in ACCOUNTS if a.username == username)


def email_for(username: str) -> str:
    return f"{username}@{EMAIL_DOMAIN}"
